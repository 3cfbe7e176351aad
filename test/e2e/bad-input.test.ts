/**
 * Bad input gets a clear error and loses nothing: bad config stops the host at startup with an
 * error naming file, component and field; a bad request at run time gets a JSON 4xx/5xx and the
 * host keeps serving.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startNodeHost, type NodeHost } from "../../adapters/node/index.ts";
import { createConsoleLogger, silentLogger } from "../../src/core/logger.ts";
import { ComponentConfigError } from "../../src/errors.ts";

const repo = resolve(import.meta.dirname, "../..");
const mechaImport = JSON.stringify(join(repo, "src/index.ts"));

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mecha-bad-input-"));
  await mkdir(join(dir, "components"), { recursive: true });
  await mkdir(join(dir, "functions"), { recursive: true });
  for (const [path, text] of Object.entries(files)) await writeFile(join(dir, path), text);
  return dir;
}

const stateYaml = (name: string, type: string, metadata = `    - name: connectionString\n      value: "state.db"\n`) =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n  metadata:\n${metadata}`;

const helloFunction = `import { http } from ${mechaImport};
export const hello = http("GET /hello", async (_req, ctx) => {
  await ctx.state("store").set("k", { hello: true });
  return Response.json((await ctx.state("store").get("k"))?.value);
});
export const missing = http("GET /missing", async (_req, ctx) => Response.json(await ctx.state("nope").get("k")));
export const badKey = http("GET /bad-key", async (_req, ctx) => Response.json(await ctx.state("store").set("a||b", 1)));
`;

describe("bad input", () => {
  const dirs: string[] = [];
  let host: NodeHost | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  const start = async (files: Record<string, string>) => {
    const dir = await project(files);
    dirs.push(dir);
    return startNodeHost({ baseDir: dir, resources: "components", port: 0, logger: silentLogger });
  };

  it("refuses to start on a YAML syntax error, naming the file and line", async () => {
    const error = await start({ "components/broken.yaml": "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: [unclosed\n" }).catch((e) => e);
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error.message).toMatch(/broken\.yaml/);
    expect(error.message).toMatch(/line \d+/);
  });

  it("refuses an unknown spec.type, listing the known ones", async () => {
    const error = await start({ "components/store.yaml": stateYaml("store", "state.nosuchdb") }).catch((e) => e);
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error.message).toMatch(/store\.yaml/);
    expect(error.message).toMatch(/component "store"/);
    expect(error.message).toMatch(/field "spec\.type"/);
    expect(error.message).toMatch(/state\.sqlite/);
  });

  it("refuses a component missing a required metadata field, naming file, component and field", async () => {
    const error = await start({ "components/store.yaml": stateYaml("store", "state.sqlite", "    - name: tableName\n      value: t\n") }).catch((e) => e);
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error.message).toMatch(/store\.yaml/);
    expect(error.message).toMatch(/component "store"/);
    expect(error.message).toMatch(/field "connectionString"/);
  });

  it("refuses a subscription on a pub/sub that is not configured", async () => {
    const error = await start({
      "functions/sub.ts": `import { subscribe } from ${mechaImport};\nexport const s = subscribe({ pubsub: "ghostbus", topic: "t" }, () => {});\n`,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error.message).toMatch(/"ghostbus"/);
  });

  it("answers a function's use of an unknown component with a JSON error, logs the details, and keeps serving", async () => {
    const lines: string[] = [];
    const dir = await project({ "components/store.yaml": stateYaml("store", "state.sqlite"), "functions/hello.ts": helloFunction });
    dirs.push(dir);
    const logger = createConsoleLogger({ level: "error", write: (_level, line) => void lines.push(line) });
    host = await startNodeHost({ baseDir: dir, resources: "components", port: 0, logger });
    const missing = await fetch(`${host.url}/missing`);
    expect(missing.status).toBe(500);
    const body = (await missing.json()) as { errorCode: string; message: string };
    expect(body.errorCode).toBe("ERR_COMPONENT_NOT_FOUND");
    // The client learns the kind of failure and an incident id, not the app's configuration.
    expect(body.message).not.toContain("store");
    const incident = /incident ([0-9a-f-]{36})/.exec(body.message)?.[1];
    expect(incident).toBeDefined();
    const logged = JSON.parse(lines.find((line) => line.includes(incident!))!) as { detail: string };
    expect(logged.detail).toMatch(/"nope".*"store"/);
    const hello = await fetch(`${host.url}/hello`);
    expect(hello.status).toBe(200);
    expect(await hello.json()).toEqual({ hello: true });
  });

  it("answers a key containing || with 400 ERR_STATE_INVALID_KEY", async () => {
    host = await start({ "components/store.yaml": stateYaml("store", "state.sqlite"), "functions/hello.ts": helloFunction });
    const response = await fetch(`${host.url}/bad-key`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errorCode: string }).errorCode).toBe("ERR_STATE_INVALID_KEY");
  });

  it("applies a configured body limit: 413 over it, served under it", async () => {
    const dir = await project({
      "components/store.yaml": stateYaml("store", "state.sqlite"),
      "functions/echo.ts": `import { http } from ${mechaImport};\nexport const echo = http("POST /echo", async (req) => new Response(await req.text()));\n`,
    });
    dirs.push(dir);
    host = await startNodeHost({ baseDir: dir, resources: "components", port: 0, logger: silentLogger, bodyLimit: 1024 });
    const over = await fetch(`${host.url}/echo`, { method: "POST", body: "x".repeat(1025) });
    expect(over.status).toBe(413);
    expect(((await over.json()) as { errorCode: string }).errorCode).toBe("ERR_REQUEST_TOO_LARGE");
    const under = await fetch(`${host.url}/echo`, { method: "POST", body: "x".repeat(1024) });
    expect(under.status).toBe(200);
    expect((await under.text()).length).toBe(1024);

    // A streamed (chunked) body has no length header: it is counted as it arrives.
    const streamed = (size: number) =>
      fetch(`${host!.url}/echo`, {
        method: "POST",
        body: new ReadableStream({
          start(controller) {
            for (let sent = 0; sent < size; sent += 256) controller.enqueue(new TextEncoder().encode("y".repeat(Math.min(256, size - sent))));
            controller.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
    const streamedOver = await streamed(4096);
    expect(streamedOver.status).toBe(413);
    expect(((await streamedOver.json()) as { errorCode: string }).errorCode).toBe("ERR_REQUEST_TOO_LARGE");
    const streamedUnder = await streamed(1000);
    expect(streamedUnder.status).toBe(200);
    expect(await streamedUnder.text()).toBe("y".repeat(1000));
  });
});
