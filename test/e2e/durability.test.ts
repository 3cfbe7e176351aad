/**
 * The durable local pub/sub keeps its promise across a crash: a host is SIGKILLed while messages
 * are in flight, a new host starts on the same files, and every message is handled at least once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentCatalog } from "../../src/components/catalog.ts";
import { loadResources } from "../../src/config/load.ts";
import { Runtime } from "../../src/core/runtime.ts";
import { waitFor } from "../support/wait.ts";

const repo = resolve(import.meta.dirname, "../..");
const total = 300;

const component = (name: string, type: string, metadata: Record<string, string>) => `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: ${type}
  version: v1
  metadata:
${Object.entries(metadata).map(([k, v]) => `    - name: ${k}\n      value: "${v}"`).join("\n")}
`;

// Each message takes a little while, so a SIGKILL always lands with deliveries in flight.
const subscriber = `
import { subscribe } from ${JSON.stringify(join(repo, "src/index.ts"))};
export const record = subscribe({ pubsub: "bus", topic: "work", concurrency: 8 }, async (event, ctx) => {
  await new Promise((resolve) => setTimeout(resolve, 25));
  const n = (event.data as { n: number }).n;
  const seen = await ctx.state("seen").get<number>(String(n));
  await ctx.state("seen").set(String(n), (seen?.value ?? 0) + 1);
});
`;

function startHost(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(repo, "test/e2e/fixtures/run-host.ts"), dir], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolveStart, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("listening ")) resolveStart(child);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`host exited with ${code}: ${output}`)));
  });
}

describe("durable local pub/sub under SIGKILL", () => {
  let dir: string;
  let runtime: Runtime;
  const hosts: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mecha-durability-"));
    await mkdir(join(dir, "components/local"), { recursive: true });
    await mkdir(join(dir, "functions"));
    await writeFile(join(dir, "functions/record.ts"), subscriber);
    await writeFile(
      join(dir, "components/local/bus.yaml"),
      component("bus", "pubsub.sqlite", { connectionString: ".mecha/pubsub.db", ackDeadline: "1s", pollInterval: "50ms" }),
    );
    await writeFile(join(dir, "components/local/seen.yaml"), component("seen", "state.sqlite", { connectionString: ".mecha/state.db" }));
    const resources = await loadResources(join(dir, "components/local"));
    runtime = new Runtime({ appId: "durability", components: resources.components, catalog: componentCatalog, baseDir: dir });
  });

  afterAll(async () => {
    for (const host of hosts) host.kill("SIGKILL");
    await runtime?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const handledCount = async () => {
    const entries = await (await runtime.state("seen")).getBulk(Array.from({ length: total }, (_, n) => String(n)));
    return entries.filter((e) => e.value !== undefined).length;
  };

  it("handles every message at least once after the host is killed mid-stream and restarted", async () => {
    const first = await startHost(dir);
    hosts.push(first);
    for (let n = 0; n < total; n++) await runtime.publish("bus", "work", { n });

    await waitFor(async () => (await handledCount()) >= 30, { timeoutMs: 20_000, what: "the first host to handle some messages" });
    first.kill("SIGKILL");
    await new Promise((done) => first.once("exit", done));
    const handledBeforeCrash = await handledCount();
    expect(handledBeforeCrash).toBeLessThan(total);

    hosts.push(await startHost(dir));
    await waitFor(async () => (await handledCount()) === total, { timeoutMs: 60_000, what: `all ${total} messages handled` });
    expect(await handledCount()).toBe(total);
  }, 120_000);
});
