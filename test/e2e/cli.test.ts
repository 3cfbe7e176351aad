/**
 * The `mecha` command, end to end: real `node bin/mecha.js` processes in a temporary app folder
 * whose functions import "mecha" and whose components are the local SQLite and file ones.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { componentYaml as component, createAppDir } from "../support/app-fixture.ts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ownBySuite, spawnMecha, startMechaServer, stop, stopAll, stopServers, type Finished, type Running } from "../support/mecha-process.ts";
import { freshName, waitFor } from "../support/wait.ts";


// ---------------------------------------------------------------------------------------------
// Fixtures: a small app on disk, and mecha processes run in it.

const appFunctions = `
import { cron, http, subscribe } from "mecha";

export const hello = http("GET /hello", () => Response.json({ hello: "world" }));

export const echo = http("POST /echo", async (req) =>
  new Response(await req.text(), { headers: { "content-type": req.headers.get("content-type") ?? "text/plain", "x-seen": req.headers.get("x-test") ?? "" } }),
);

/** Records each note in state, so that a test can see the host handled it. */
export const recordNote = subscribe({ pubsub: "bus", topic: "notes" }, async (event, ctx) => {
  const { key, text } = event.data as { key: string; text: string };
  await ctx.state("kv").set(key, { text, source: event.source });
});

export const nightly = cron("0 3 * * *", async () => {});
`;


/** Writes an app folder: package.json, node_modules/mecha → this repo, functions/, components/local/. */
function createApp(): string {
  return createAppDir("mecha-cli", {
    "functions/app.ts": appFunctions,
    "components/local/kv.yaml": component("kv", "state.sqlite", { connectionString: ".mecha/state.db" }),
    "components/local/bus.yaml": component("bus", "pubsub.sqlite", { connectionString: ".mecha/pubsub.db", pollInterval: "50ms" }),
    "components/local/files.yaml": component("files", "bindings.localstorage", { rootPath: ".mecha/files" }),
    "components/local/secrets.yaml": component("secrets", "secretstores.local.file", { secretsFile: "components/local/secrets.json" }),
    "components/local/secrets.json": JSON.stringify({ greeting: "hello" }),
  });
}

/** Runs a one-shot command to its end. */
function mecha(cwd: string, ...args: string[]): Promise<Finished> {
  return spawnMecha(cwd, args).exited;
}

interface StartedHost extends Running {
  url: string;
  port: number;
}

/** `mecha start --port 0 --json` until its summary line says where it listens. */
async function startHost(cwd: string, ...extra: string[]): Promise<StartedHost> {
  const running = await startMechaServer<{ msg?: string; url: string }>(cwd, ["start", "--port", "0", "--dapr-http-port", "0", "--json", ...extra], {
    what: "mecha start to print its summary",
    timeoutMs: 20_000,
  });
  const url = running.summary.url;
  return { ...running, url, port: Number(new URL(url).port) };
}

const lines = (text: string) => text.trim().split("\n").filter(Boolean);

let app: string;

beforeAll(() => {
  app = createApp();
});

afterEach(stopServers);

afterAll(async () => {
  await stopAll();
  rmSync(app, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

describe.concurrent("mecha --help", () => {
  it("lists every command and exits 0", async () => {
    const result = await mecha(app, "--help");
    expect(result.code).toBe(0);
    for (const command of ["start", "dev", "publish", "state", "invoke"]) expect(result.stdout).toContain(command);
  });

  it.each([
    [["start"], ["--resources", "--functions", "--port", "--host", "--app-id", "--log-level", "--json", "components/local", "mecha-app"]],
    [["dev"], ["--resources", "--functions", "--port", "--host", "--app-id", "--log-level", "--json"]],
    [["publish"], ["<pubsub>", "<topic>", "<data>", "--resources", "--app-id", "--raw", "--content-type", "--json"]],
    [["state"], ["state get", "state set", "state delete"]],
    [["state", "get"], ["<store>", "<key>", "--resources", "--app-id", "--json"]],
    [["state", "set"], ["<value>", "--etag", "--first-write", "--ttl", "--json"]],
    [["state", "delete"], ["--etag", "--json"]],
    [["invoke"], ["<method>", "<path>", "--port", "--host", "--header", "--json"]],
  ])("mecha %s --help exits 0 and documents its options", async (command, mentions) => {
    const result = await mecha(app, ...command, "--help");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain(`Usage: mecha ${command.join(" ")}`);
    for (const text of mentions) expect(result.stdout).toContain(text);
  });

  it("-h works like --help", async () => {
    const result = await mecha(app, "invoke", "-h");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: mecha invoke");
  });
});

describe.concurrent("mecha with a wrong command line", () => {
  it("an unknown command exits 2 with a one-line error and a hint", async () => {
    const result = await mecha(app, "strat");
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([`error: unknown command "strat"; did you mean "start"?`, `run "mecha --help" for the list of commands`]);
    expect(result.stdout).toBe("");
  });

  it("an unknown option exits 2 and points at the command's help", async () => {
    const result = await mecha(app, "start", "--prot", "3000");
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([`error: unknown option --prot for "mecha start"`, `run "mecha start --help" for usage`]);
  });

  it("a missing argument exits 2 and names it", async () => {
    const result = await mecha(app, "state", "set", "kv");
    expect(result.code).toBe(2);
    expect(lines(result.stderr)[0]).toBe(`error: missing <key> <value> for "mecha state set"`);
  });

  it("malformed JSON data for publish exits 2 and says how to send text", async () => {
    const result = await mecha(app, "publish", "bus", "notes", "{not json");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: <data> must be JSON, got "\{not json"/);
    expect(result.stderr).toContain("--content-type text/plain");
  });

  it("a port out of range exits 2", async () => {
    const result = await mecha(app, "start", "--port", "70000");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--port must be a port number from 0 to 65535");
  });
});

describe("mecha state", () => {
  it("set then get --json round-trips the value and the etag", async () => {
    const key = freshName("order");
    const value = { item: "tea", quantity: 2, tags: ["hot"] };
    const set = await mecha(app, "state", "set", "kv", key, JSON.stringify(value), "--json");
    expect(set.code).toBe(0);
    const { etag } = JSON.parse(set.stdout) as { etag: string };
    expect(etag).toEqual(expect.any(String));

    const get = await mecha(app, "state", "get", "kv", key, "--json");
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toEqual({ key, value, etag });
  });

  it("get prints the value and the etag for people", async () => {
    const key = freshName("note");
    await mecha(app, "state", "set", "kv", key, '{"text":"hi"}');
    const get = await mecha(app, "state", "get", "kv", key);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/^\{\n {2}"text": "hi"\n\}\netag: \S+\n$/);
  });

  it("get of a missing key exits 1 (found: false with --json)", async () => {
    const key = freshName("missing");
    const json = await mecha(app, "state", "get", "kv", key, "--json");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ key, found: false });

    const plain = await mecha(app, "state", "get", "kv", key);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(`error: key "${key}" not found in state store "kv"`);
  });

  it("set --first-write on an existing key exits 1 with the etag error", async () => {
    const key = freshName("once");
    expect((await mecha(app, "state", "set", "kv", key, "1", "--first-write")).code).toBe(0);
    const again = await mecha(app, "state", "set", "kv", key, "2", "--first-write");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: possible etag mismatch for key "[^"]*"\n$/);
    expect(JSON.parse((await mecha(app, "state", "get", "kv", key, "--json")).stdout)).toMatchObject({ value: 1 });
  });

  it("set --etag succeeds with the current etag and delete removes the key", async () => {
    const key = freshName("cas");
    const { etag } = JSON.parse((await mecha(app, "state", "set", "kv", key, '"a"', "--json")).stdout) as { etag: string };
    expect((await mecha(app, "state", "set", "kv", key, '"b"', "--etag", etag)).code).toBe(0);
    expect((await mecha(app, "state", "set", "kv", key, '"c"', "--etag", etag)).code).toBe(1);
    expect((await mecha(app, "state", "delete", "kv", key)).code).toBe(0);
    expect((await mecha(app, "state", "get", "kv", key, "--json")).code).toBe(1);
  });

  it("an unknown store is an error that lists the configured ones", async () => {
    const result = await mecha(app, "state", "get", "nope", "k");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: no state store component named "nope" is configured (configured: "kv")`);
  });
});

describe("mecha start, invoke and publish", () => {
  let host: StartedHost;

  beforeAll(async () => {
    host = await startHost(app);
    ownBySuite(host.child);
  });

  afterAll(async () => {
    if (host) await stop(host.child);
  });

  it("start prints one JSON summary line with the routes, subscriptions and schedules", () => {
    const summary = lines(host.stdout())
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line["msg"] === "mecha started");
    expect(summary).toMatchObject({
      appId: "mecha-app",
      url: host.url,
      routes: expect.arrayContaining([{ method: "GET", path: "/hello", function: "app.hello" }]),
      subscriptions: [{ pubsub: "bus", topic: "notes", name: "mecha-app.app.recordNote" }],
      schedules: [{ schedule: "0 3 * * *", function: "app.nightly" }],
    });
  });

  it("the started host serves a route", async () => {
    const response = await fetch(`${host.url}/hello`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ hello: "world" });
  });

  it("invoke prints the status and the pretty JSON body, exit 0", async () => {
    const result = await mecha(app, "invoke", "GET", "/hello", "--port", String(host.port));
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`200 OK\n{\n  "hello": "world"\n}\n`);
  });

  it("invoke --json prints status, headers and body; a JSON body is sent as application/json with headers", async () => {
    const result = await mecha(app, "invoke", "post", "/echo", '{"n":1}', "--port", String(host.port), "-H", "x-test: yes", "--json");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 200,
      headers: { "content-type": "application/json", "x-seen": "yes" },
      body: { n: 1 },
    });
  });

  it("invoke of a missing route exits 1", async () => {
    const result = await mecha(app, "invoke", "GET", "/nowhere", "--port", String(host.port));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^404 Not Found\n/);
  });

  it("publish from the CLI reaches the running host's subscriber", async () => {
    const key = freshName("note");
    const published = await mecha(app, "publish", "bus", "notes", JSON.stringify({ key, text: "from the cli" }));
    expect(published.code).toBe(0);
    expect(published.stdout).toContain("published to bus/notes");

    const stored = await waitFor(
      async () => {
        const get = await mecha(app, "state", "get", "kv", key, "--json");
        return get.code === 0 && (JSON.parse(get.stdout) as { value: unknown }).value;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: "the subscriber to store the note" },
    );
    expect(stored).toEqual({ text: "from the cli", source: "mecha-app" });
  });
});

describe("mecha invoke without a host", () => {
  it("says that no host is listening and exits 1", async () => {
    const port = await freePort();
    const result = await mecha(app, "invoke", "GET", "/hello", "--port", String(port));
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([`error: no host is listening on http://127.0.0.1:${port}; start one with "mecha start"`]);
  });
});

describe("mecha start lifecycle", () => {
  it("SIGTERM stops a started host promptly with exit code 0", async () => {
    const host = await startHost(app);
    const began = Date.now();
    host.child.kill("SIGTERM");
    const result = await host.exited;
    expect(result.code).toBe(0);
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it("a bad YAML file fails startup with exit 1 and stderr names the file", async () => {
    const broken = join(app, "broken-resources");
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, "orders.yaml"), "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: [unclosed\n");
    const result = await mecha(app, "start", "--port", "0", "--resources", "broken-resources");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*broken-resources\/orders\.yaml/);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("an unknown component type fails startup naming the file, the component and the field", async () => {
    const folder = join(app, "unknown-type");
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "cache.yaml"), component("cache", "state.nosuch", {}).replace(/ {2}metadata:\n$/, ""));
    const result = await mecha(app, "start", "--port", "0", "--resources", "unknown-type");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*unknown-type\/cache\.yaml, component "cache", field "spec\.type": unknown type "state\.nosuch"/);
  });
});

describe("mecha dev", () => {
  it("restarts the app when a function file changes", async () => {
    const devApp = createApp();
    try {
      const port = await freePort();
      const dev = spawnMecha(devApp, ["dev", "--port", String(port), "--dapr-http-port", "0"], { server: true });
      const hello = () => fetch(`http://127.0.0.1:${port}/hello`).then((r) => r.status === 200, () => false);
      await waitFor(hello, { timeoutMs: 20_000, what: "mecha dev to serve /hello" });

      writeFileSync(join(devApp, "functions/added.ts"), `import { http } from "mecha";\nexport const added = http("GET /added", () => new Response("new"));\n`);
      const text = await waitFor(
        () => fetch(`http://127.0.0.1:${port}/added`).then((r) => (r.status === 200 ? r.text() : undefined), () => undefined),
        { timeoutMs: 20_000, what: "the restarted app to serve /added" },
      );
      expect(text).toBe("new");
      expect(dev.stderr()).toContain("added.ts changed; restarting");

      dev.child.kill("SIGTERM");
      expect((await dev.exited).code).toBe(0);
      // The child went with it: nothing listens on the port any more.
      expect(await hello()).toBe(false);
    } finally {
      rmSync(devApp, { recursive: true, force: true });
    }
  });
});

/** A port that is free now (and so, with nothing started on it, refuses connections). */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}
