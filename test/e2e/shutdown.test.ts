/**
 * Graceful shutdown: closing the host lets in-flight work finish — an HTTP request being served
 * completes, a message being handled is acked — and takes no new work.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNodeHost, type NodeHost } from "../../adapters/node/index.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { waitFor } from "../support/wait.ts";

const repo = resolve(import.meta.dirname, "../..");

describe("graceful shutdown", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mecha-shutdown-"));
    await mkdir(join(dir, "components"));
    await mkdir(join(dir, "functions"));
    await writeFile(
      join(dir, "components/bus.yaml"),
      "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bus\nspec:\n  type: pubsub.sqlite\n  version: v1\n  metadata:\n    - name: connectionString\n      value: bus.db\n",
    );
    // Both functions wait until the test releases them, so the test controls what is in flight.
    await writeFile(
      join(dir, "functions/slow.ts"),
      `import { http, subscribe } from ${JSON.stringify(join(repo, "src/index.ts"))};
const gate = globalThis as unknown as { release?: () => void; started: string[]; finished: string[] };
gate.started = []; gate.finished = [];
const released = new Promise<void>((resolve) => (gate.release = resolve));
export const slow = http("GET /slow", async () => {
  gate.started.push("http");
  await released;
  gate.finished.push("http");
  return Response.json({ done: true });
});
export const stuck = http("GET /stuck", () => {
  gate.started.push("stuck");
  return new Promise<Response>(() => {});
});
export const work = subscribe({ pubsub: "bus", topic: "work" }, async () => {
  gate.started.push("message");
  await released;
  gate.finished.push("message");
});
`,
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("finishes an in-flight request and message before it stops, and refuses new requests", async () => {
    const gate = globalThis as unknown as { release: () => void; started: string[]; finished: string[] };
    const acked: string[] = [];
    const host: NodeHost = await startNodeHost({
      baseDir: dir,
      resources: "components",
      port: 0,
      logger: silentLogger,
      onSettled: (_subscription, message, settlement) => acked.push(`${message.id}:${settlement}`),
    });
    const request = fetch(`${host.url}/slow`);
    await host.app.runtime.publish("bus", "work", { n: 1 });
    await waitFor(() => gate.started.includes("http") && gate.started.includes("message"), { what: "both in flight" });

    const closing = host.close();
    // Not stopped while work is in flight: give close every chance to finish (the components'
    // close, the server's close, timers of 0 ms) — it must still be waiting, nothing acked.
    let closed = false;
    void closing.then(() => (closed = true));
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    expect(acked).toEqual([]);

    gate.release();
    const response = await request;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ done: true });
    await closing;
    expect(gate.finished.sort()).toEqual(["http", "message"]);
    expect(acked).toHaveLength(1);
    expect(acked[0]).toMatch(/:acked$/);
    await expect(fetch(`${host.url}/slow`)).rejects.toThrow();
  });

  it("stops at its deadline even when a handler never returns", async () => {
    const host = await startNodeHost({ baseDir: dir, resources: "components", port: 0, logger: silentLogger, shutdownTimeoutMs: 300 });
    const request = fetch(`${host.url}/stuck`).catch(() => "aborted");
    const gate = globalThis as unknown as { started: string[] };
    await waitFor(() => gate.started.includes("stuck"), { what: "the stuck request to be in flight" });
    const started = Date.now();
    await host.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await request).toBe("aborted");
  });
});
