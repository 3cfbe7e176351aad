/**
 * A real SNS + SQS API on 127.0.0.1 for tests: fauxqs 1.x (an in-memory SNS/SQS emulator), run in
 * this process on a free port. It accepts any credentials and never checks signatures.
 *
 * When it cannot start, {@link startFauxqsOrSkip} prints why and the suite skips — except under
 * CI (`process.env.CI`), where a suite that cannot run must fail.
 */
import type { FauxqsServer } from "fauxqs";

export interface Fauxqs {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  server: FauxqsServer;
  /** The metadata of a `pubsub.aws.snssqs` component on this server. */
  metadata(extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

const credentials = { accessKey: "fauxqs", secretKey: "fauxqs" };
const region = "us-east-1";

/** Starts fauxqs on 127.0.0.1, port 0. */
export async function startFauxqs(): Promise<Fauxqs> {
  const { startFauxqs: start } = await import("fauxqs");
  const server = await start({ port: 0, host: "localhost", logger: false, defaultRegion: region });
  const endpoint = `http://127.0.0.1:${server.port}`;
  return {
    endpoint,
    server,
    metadata: (extra = {}) => ({ endpoint, region, ...credentials, ...extra }),
    stop: () => server.stop(),
  };
}

/**
 * Starts fauxqs, or answers undefined after printing why it could not. Under CI the failure is
 * thrown: a backend that does not start fails the run there rather than skipping.
 */
export async function startFauxqsOrSkip(what: string): Promise<Fauxqs | undefined> {
  try {
    return await startFauxqs();
  } catch (error) {
    if (process.env["CI"]) throw error;
    console.warn(`skipping the ${what} tests: fauxqs could not start: ${(error as Error).message}`);
    return undefined;
  }
}
