/**
 * The backing servers on 127.0.0.1 that server-backed component suites use (PostgreSQL, Redis,
 * NATS JetStream, RabbitMQ, Mosquitto). `.ci/run` starts any that are down.
 *
 * {@link serviceOrSkip} answers whether a server accepts connections. When it does not, the
 * suite skips with a printed reason — except under CI (`process.env.CI`), where a suite that
 * cannot run must fail, so it throws.
 */
import { connect } from "node:net";

/** The servers, on their standard ports. */
export const services = {
  redis: { name: "Redis", host: "127.0.0.1", port: 6379 },
  postgresql: { name: "PostgreSQL", host: "127.0.0.1", port: 5432 },
  nats: { name: "NATS JetStream", host: "127.0.0.1", port: 4222 },
  rabbitmq: { name: "RabbitMQ", host: "127.0.0.1", port: 5672 },
  mosquitto: { name: "Mosquitto", host: "127.0.0.1", port: 1883 },
} as const;

export type ServiceName = keyof typeof services;

/** Whether something accepts TCP connections on the port, within `timeoutMs`. */
export function isListening(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * True when the server is up. Otherwise prints why `what` is skipped and answers false — or, under
 * CI, throws.
 * @example
 * const redisUp = await serviceOrSkip("redis", "the state.redis conformance suite");
 * describe.skipIf(!redisUp)("state.redis", () => { ... });
 */
export async function serviceOrSkip(service: ServiceName, what: string): Promise<boolean> {
  const { name, host, port } = services[service];
  if (await isListening(host, port)) return true;
  const reason = `${name} is not reachable on ${host}:${port}`;
  if (process.env["CI"]) throw new Error(`${what} cannot run: ${reason} (.ci/run starts it; see .ci/services.sh)`);
  console.warn(`skipping ${what}: ${reason}`);
  return false;
}
