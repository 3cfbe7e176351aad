/**
 * Connection loss while a host runs: a Node host consumes a Redis Streams subscription (and its
 * handler fails now and then), and every connection of the run's pub/sub component — the host's
 * readers and writers and the test's own publisher, found by the client name the component sets
 * — is dropped several times mid-stream with `CLIENT KILL ID`. The host reconnects by itself and resumes delivery, and no message
 * that had not been acked is lost: every one of them is handled.
 *
 * The shared Redis server is not restarted and other clients are left alone (other suites use it
 * at the same time); dropping every connection is what a restart looks like to the component.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { componentCatalog } from "../../src/components/catalog.ts";
import { loadResources } from "../../src/config/load.ts";
import { Runtime } from "../../src/core/runtime.ts";
import { componentYaml } from "../support/app-fixture.ts";
import { serviceOrSkip } from "../support/services.ts";
import { freshName, waitFor } from "../support/wait.ts";

const repo = resolve(import.meta.dirname, "../..");
const total = 3000;
const up = await serviceOrSkip("redis", "the reconnect test on pubsub.redis");

async function handledNumbers(out: string): Promise<Set<number>> {
  const numbers = new Set<number>();
  for (const file of (await readdir(out)).filter((f) => f.endsWith(".handled"))) {
    for (const line of (await readFile(join(out, file), "utf8")).split("\n")) if (line) numbers.add(Number(line));
  }
  return numbers;
}

describe.skipIf(!up)("a host on pubsub.redis when its connections drop", () => {
  let host: ChildProcess | undefined;
  let runtime: Runtime | undefined;
  let dir: string | undefined;
  let topic: string | undefined;
  afterAll(async () => {
    host?.kill("SIGKILL");
    await runtime?.close();
    const { Redis } = await import("ioredis");
    const redis = new Redis({ host: "127.0.0.1", port: 6379 });
    if (topic) await redis.del(topic, `${topic}-dead`);
    redis.disconnect();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`reconnects and handles all ${total} messages although every connection is dropped three times`, async () => {
    const id = freshName("reconnect").replace(/[^A-Za-z0-9-]/g, "-");
    topic = `${id}-work`;
    dir = await mkdtemp(join(tmpdir(), "mecha-reconnect-"));
    const out = join(dir, "out");
    await mkdir(out);
    await mkdir(join(dir, "components/local"), { recursive: true });
    // A delivery whose ack was lost with its connection is claimed again after 2 s.
    const metadata = { redisHost: "127.0.0.1:6379", processingTimeout: "2s", redeliverInterval: "500ms" };
    // A name of its own: its connections are named mecha:<name>, so the test cuts only those.
    const pubsub = `bus-${id}`;
    await writeFile(join(dir, "components/local/bus.yaml"), componentYaml(pubsub, "pubsub.redis", metadata));

    host = spawn(process.execPath, ["--import", "tsx", join(repo, "test/e2e/fixtures/run-host.ts"), dir, join(import.meta.dirname, "fixtures/many-hosts"), `${id}-app`], {
      cwd: repo,
      env: { ...process.env, MANY_HOSTS_TOPIC: topic, MANY_HOSTS_OUT: out, MANY_HOSTS_NAME: "host", MANY_HOSTS_PUBSUB: pubsub },
      stdio: ["ignore", "pipe", "ignore"],
    });
    await new Promise<void>((started, failed) => {
      let stdout = "";
      host!.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()).includes("listening ") && started());
      host!.once("exit", (code) => failed(new Error(`the host exited with ${code}`)));
    });

    const resources = await loadResources(join(dir, "components/local"));
    runtime = new Runtime({ appId: `${id}-publisher`, components: resources.components, catalog: componentCatalog, baseDir: dir });
    const publisher = runtime;
    const { Redis } = await import("ioredis");
    const admin = new Redis({ host: "127.0.0.1", port: 6379 });
    try {
      let drops = 0;
      for (let start = 0; start < total; start += 100) {
        // A publish in flight when its connection drops may fail; publish it again (at least once).
        const batch = Array.from({ length: 100 }, (_, i) => start + i);
        for (let attempt = 0; ; attempt++) {
          const results = await Promise.allSettled(batch.map((n) => publisher.publish(pubsub, topic!, { n })));
          if (results.every((r) => r.status === "fulfilled")) break;
          if (attempt === 5) throw new Error(`publishing ${start}… kept failing`);
        }
        if (start % 1000 === 500) {
          // The host's readers and writers, and the publisher's.
          const ids = ((await admin.client("LIST")) as string)
            .split("\n")
            .filter((line) => line.includes(` name=mecha:${pubsub} `))
            .map((line) => /\bid=(\d+)/.exec(line)![1]!);
          expect(ids.length).toBeGreaterThanOrEqual(2);
          for (const connection of ids) await admin.client("KILL", "ID", connection);
          drops++;
        }
      }
      expect(drops).toBe(3);

      const expected = Array.from({ length: total }, (_, n) => n);
      await waitFor(async () => ((await handledNumbers(out)).size === total ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: `all ${total} messages handled after the drops`,
      });
      expect([...(await handledNumbers(out))].sort((a, b) => a - b)).toEqual(expected);
    } finally {
      admin.disconnect();
    }
  }, 120_000);
});
