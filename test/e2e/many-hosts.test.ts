/**
 * Many hosts, no loss: three Node host processes consume one subscription on a durable pub/sub
 * (Redis Streams, NATS JetStream, RabbitMQ). 10,000 messages are published while 10 % of handler
 * calls fail at random, and one host is SIGKILLed mid-stream. Every message is handled at least
 * once, the work is shared across the hosts that survive, the poison messages (which always fail)
 * end up on the dead-letter topic — exactly those, and nothing else.
 *
 * The hosts record what they handled in files of their own (fixtures/many-hosts/work.ts), which
 * survive the SIGKILL; the test reads them.
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
import { serviceOrSkip, type ServiceName } from "../support/services.ts";
import { freshName, waitFor } from "../support/wait.ts";

const repo = resolve(import.meta.dirname, "../..");
const functionsDir = join(import.meta.dirname, "fixtures/many-hosts");
const total = 10_000;
const poisonEvery = 500; // 20 poison messages
const hostCount = 3;

interface Broker {
  type: string;
  service: ServiceName;
  /** The component's metadata for one run, tuned so a killed host's messages come back quickly. */
  metadata: (run: string) => Record<string, string>;
  /** Deletes what the run made on the broker (streams, queues, exchanges). */
  cleanup: (run: Run) => Promise<void>;
}

/** One run's names: the hosts' app id (so its subscriptions are new) and the topics. */
interface Run {
  id: string;
  appId: string;
  topics: string[];
  /** The hosts' subscriptions' durable names. */
  subscriptions: string[];
}

const brokers: Broker[] = [
  {
    // A killed consumer's pending entries are claimed after 2 s of idleness.
    type: "pubsub.redis",
    service: "redis",
    metadata: () => ({ redisHost: "127.0.0.1:6379", processingTimeout: "2s", redeliverInterval: "500ms" }),
    async cleanup({ topics }) {
      const { Redis } = await import("ioredis");
      const redis = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true });
      await redis.del(...topics);
      redis.disconnect();
    },
  },
  {
    // A message a killed host held comes back when its ack wait of 2 s runs out.
    type: "pubsub.jetstream",
    service: "nats",
    metadata: (run) => ({ natsURL: "nats://127.0.0.1:4222", streamName: run, ackWait: "2s" }),
    async cleanup({ id }) {
      const { connect } = await import("@nats-io/transport-node");
      const { jetstreamManager } = await import("@nats-io/jetstream");
      const nc = await connect({ servers: "127.0.0.1:4222" });
      await (await jetstreamManager(nc)).streams.delete(id).catch(() => false);
      await nc.close();
    },
  },
  {
    // RabbitMQ requeues a dead connection's unacked messages itself.
    type: "pubsub.rabbitmq",
    service: "rabbitmq",
    metadata: () => ({ connectionString: "amqp://guest:guest@127.0.0.1:5672", prefetchCount: "32" }),
    async cleanup({ topics, subscriptions }) {
      const amqp = await import("amqplib");
      const connection = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
      const channel = await connection.createChannel();
      for (const queue of subscriptions) await channel.deleteQueue(queue);
      for (const exchange of topics) await channel.deleteExchange(exchange);
      await connection.close();
    },
  },
];

const isPoison = (n: number) => n % poisonEvery === 0;

interface Host {
  name: string;
  child: ChildProcess;
  /** The last part of what it wrote to stderr, for a failure's message. */
  stderr: () => string;
}

function startHost(dir: string, appId: string, name: string, env: Record<string, string>): Promise<Host> {
  const child = spawn(process.execPath, ["--import", "tsx", join(repo, "test/e2e/fixtures/run-host.ts"), dir, functionsDir, appId], {
    cwd: repo,
    env: { ...process.env, ...env, MANY_HOSTS_NAME: name },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8192)));
  return new Promise((resolveStart, reject) => {
    let stdout = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("listening ")) resolveStart({ name, child, stderr: () => stderr });
    });
    child.once("exit", (code) => reject(new Error(`host ${name} exited with ${code}: ${stderr}`)));
  });
}

/** Every number each host's files list, by host. */
async function recorded(out: string, suffix: ".handled" | ".dead"): Promise<Map<string, number[]>> {
  const byHost = new Map<string, number[]>();
  for (const file of (await readdir(out)).filter((f) => f.endsWith(suffix))) {
    const text = await readFile(join(out, file), "utf8");
    byHost.set(file.slice(0, -suffix.length), text.split("\n").filter(Boolean).map(Number));
  }
  return byHost;
}

const union = (byHost: Map<string, number[]>) => new Set([...byHost.values()].flat());

for (const broker of brokers) {
  const up = await serviceOrSkip(broker.service, `the many-hosts test on ${broker.type}`);
  const known = broker.type in componentCatalog;
  describe.skipIf(!up || !known)(`many hosts, no loss: ${broker.type}`, () => {
    const hosts: Host[] = [];
    let dir: string | undefined;
    let runtime: Runtime | undefined;
    let run: Run | undefined;
    afterAll(async () => {
      for (const host of hosts) host.child.kill("SIGKILL");
      await runtime?.close();
      if (run) await broker.cleanup(run);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it(
      `handles all ${total} messages at least once across ${hostCount} hosts while one is killed, and dead-letters exactly the poison ones`,
      async () => {
        const id = freshName("many-hosts").replace(/[^A-Za-z0-9-]/g, "-");
        const topic = `${id}-work`;
        const appId = `${id}-app`;
        run = { id, appId, topics: [topic, `${topic}-dead`], subscriptions: [`${appId}.work.work`, `${appId}.work.dead`] };
        dir = await mkdtemp(join(tmpdir(), "mecha-many-hosts-"));
        const out = join(dir, "out");
        await mkdir(out);
        await mkdir(join(dir, "components/local"), { recursive: true });
        await writeFile(join(dir, "components/local/bus.yaml"), componentYaml("bus", broker.type, broker.metadata(id)));
        const env = { MANY_HOSTS_TOPIC: topic, MANY_HOSTS_OUT: out };
        for (let i = 0; i < hostCount; i++) hosts.push(await startHost(dir, appId, `host${i}`, env));

        const resources = await loadResources(join(dir, "components/local"));
        runtime = new Runtime({ appId: "many-hosts-publisher", components: resources.components, catalog: componentCatalog, baseDir: dir });
        const publisher = runtime;
        const publishing = (async () => {
          for (let start = 0; start < total; start += 100) {
            await Promise.all(Array.from({ length: 100 }, (_, i) => start + i).map((n) => publisher.publish("bus", topic, { n, poison: isPoison(n) || undefined })));
          }
        })();

        // Kill one host once the work is well under way, with deliveries in flight.
        const victim = hosts[0]!;
        await waitFor(async () => ((await recorded(out, ".handled")).get(victim.name)?.length ?? 0) >= 300 || undefined, {
          timeoutMs: 60_000,
          what: `${victim.name} to handle 300 messages`,
        });
        victim.child.kill("SIGKILL");
        await new Promise((done) => victim.child.once("exit", done));
        await publishing;

        const expected = Array.from({ length: total }, (_, n) => n).filter((n) => !isPoison(n));
        const poison = Array.from({ length: total }, (_, n) => n).filter(isPoison);
        await waitFor(
          async () => {
            const handled = union(await recorded(out, ".handled"));
            const dead = union(await recorded(out, ".dead"));
            return expected.every((n) => handled.has(n)) && poison.every((n) => dead.has(n)) ? true : undefined;
          },
          { timeoutMs: 120_000, intervalMs: 500, what: "every message handled and every poison message dead-lettered" },
        ).catch((error: Error) => {
          throw new Error(`${error.message}; the hosts' last stderr: ${hosts.map((h) => `${h.name}: ${h.stderr().slice(-600)}`).join(" | ")}`);
        });

        const handled = await recorded(out, ".handled");
        const dead = union(await recorded(out, ".dead"));
        // Exactly the poison messages are dead letters; no poison message was ever "handled".
        expect([...dead].sort((a, b) => a - b)).toEqual(poison);
        expect([...union(handled)].filter(isPoison)).toEqual([]);
        expect(union(handled).size).toBe(expected.length);
        // The work was shared: each survivor handled a real part of it.
        for (const survivor of hosts.slice(1)) {
          expect(handled.get(survivor.name)?.length ?? 0, `${survivor.name}'s share`).toBeGreaterThan(total / 10);
        }
      },
      240_000,
    );
  });
}
