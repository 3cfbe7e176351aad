/**
 * Pub/sub throughput with at-least-once acks: messages/s delivered to a no-op handler and acked,
 * through mecha (a component and the core's delivery pipeline, wired as the Node host wires a
 * subscription) beside hand-written consumer loops on the raw client of the same broker — Redis
 * Streams (redis-streams.ts) and NATS JetStream (jetstream.ts); each file says what its loops do.
 *
 * A round gives each side a fresh topic (stream) already holding `messages` CloudEvents, and
 * times its drain: from the subscribe call until the last message is acked, with the same
 * concurrency on every side. Sides take turns in an order that rotates each round, after one
 * warm-up drain each; the median over rounds is reported. A broker that is not running is skipped.
 */
import { isListening, services, type ServiceName } from "../../test/support/services.ts";
import { freshName } from "../../test/support/wait.ts";
import { fmt, ratio } from "../support.ts";
import { jetstreamBroker } from "./jetstream.ts";
import { redisStreamsBroker } from "./redis-streams.ts";
import { cloudEventBodies, type Broker } from "./sides.ts";

export interface BrokerBenchOptions {
  rounds: number;
  /** Messages each side drains per round. */
  messages: number;
  /** Messages in flight at once on every side (mecha's default for a subscription is 16). */
  concurrency: number;
}

export interface SideResult {
  label: string;
  /** Messages/s of each round, in order. */
  runs: number[];
  median: number;
}

export interface BrokerResult {
  name: string;
  /** Why the broker was not measured. */
  skipped?: string;
  /** mecha first, then the baselines; the first baseline is the target's. */
  sides: SideResult[];
}

const brokers: Array<{ name: string; service: ServiceName; open: (concurrency: number) => Promise<Broker> }> = [
  { name: "Redis Streams", service: "redis", open: redisStreamsBroker },
  { name: "NATS JetStream", service: "nats", open: jetstreamBroker },
];

/** How long the broker gets after a fill, so that the publishes' own work is not timed into a drain. */
const settleMs = 200;

export async function benchBrokers(options: BrokerBenchOptions): Promise<{ options: BrokerBenchOptions; brokers: BrokerResult[] }> {
  const bodies = await cloudEventBodies(options.messages);
  const results: BrokerResult[] = [];
  for (const { name, service, open } of brokers) {
    const { host, port } = services[service];
    if (!(await isListening(host, port))) {
      results.push({ name, skipped: `${services[service].name} is not reachable on ${host}:${port}`, sides: [] });
      continue;
    }
    const broker = await open(options.concurrency);
    try {
      results.push({ name, sides: await measure(broker, bodies, options.rounds) });
    } finally {
      await Promise.all(broker.sides.map((side) => side.close()));
      await broker.close();
    }
  }
  return { options, brokers: results };
}

async function measure(broker: Broker, bodies: readonly Uint8Array[], rounds: number): Promise<SideResult[]> {
  const runs = broker.sides.map(() => [] as number[]);
  const drainOnce = async (side: number, messages: readonly Uint8Array[]) => {
    const topic = freshName("bench-orders");
    const subscription = freshName("bench-sub");
    await broker.fill(topic, subscription, messages);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    try {
      const ms = await broker.sides[side]!.drain({ topic, subscription, count: messages.length });
      return (messages.length / ms) * 1000;
    } finally {
      await broker.remove(topic);
    }
  };
  const warmUp = bodies.slice(0, Math.max(500, Math.floor(bodies.length / 5)));
  for (let side = 0; side < broker.sides.length; side++) await drainOnce(side, warmUp);
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < broker.sides.length; turn++) {
      const side = (round + turn) % broker.sides.length;
      runs[side]!.push(await drainOnce(side, bodies));
    }
  }
  return broker.sides.map((side, i) => ({ label: side.label, runs: runs[i]!, median: median(runs[i]!) }));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * mecha's rate over a baseline's, the median over rounds of the two sides' runs in the same round:
 * a round's sides run back to back, so load from elsewhere on the machine moves both.
 */
const roundRatio = (mecha: { runs: number[] }, baseline: { runs: number[] }) =>
  median(mecha.runs.map((run, round) => ratio(run, baseline.runs[round]!)));

export function formatBrokers({ options, brokers: results }: { options: BrokerBenchOptions; brokers: BrokerResult[] }): string {
  return results
    .map(({ name, skipped, sides }) => {
      if (skipped) return `${name}: skipped (${skipped})`;
      const [mecha, ...baselines] = sides as [SideResult, ...SideResult[]];
      const width = Math.max(...sides.map((s) => s.label.length));
      const row = (side: SideResult, note = "") =>
        `${side.label.padEnd(width)}  ${fmt(side.median).padStart(8)}  ${`(${side.runs.map((r) => fmt(r)).join(", ")})`.padEnd(8 * options.rounds)}  ${note}`.trimEnd();
      return [
        `${name}: ${fmt(options.messages)} messages a round, ${options.concurrency} in flight; msgs/s, median of ${options.rounds} round(s)`,
        ...baselines.map((b, i) => row(b, `mecha/this ${fmt(roundRatio(mecha, b), 2)}x${i === 0 ? " (target >= 0.8x)" : ""}`)),
        row(mecha),
      ].join("\n");
    })
    .join("\n\n");
}
