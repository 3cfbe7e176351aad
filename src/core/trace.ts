/**
 * W3C trace context: every invocation has one, taken from the trigger (an HTTP `traceparent`
 * header, an event's `traceparent`) or started fresh, and passed on to what it publishes.
 */

export interface TraceContext {
  /** `00-<trace-id>-<span-id>-<flags>` */
  traceparent: string;
  tracestate?: string;
  traceId: string;
  spanId: string;
}

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Continues the caller's trace with a new span, or starts a new trace when there is none (or it is malformed). */
export function continueTrace(parent?: string | null, tracestate?: string | null): TraceContext {
  const match = parent ? traceparentPattern.exec(parent.trim().toLowerCase()) : null;
  const traceId = match && !/^0+$/.test(match[1]!) ? match[1]! : randomHex(16);
  const flags = match?.[3] ?? "01";
  const spanId = randomHex(8);
  return {
    traceparent: `00-${traceId}-${spanId}-${flags}`,
    traceId,
    spanId,
    ...(match && tracestate ? { tracestate } : {}),
  };
}

/**
 * Random bytes as hex, from a pool filled 4 KiB at a time: one `getRandomValues` call per id cost
 * about 4 µs, most of a no-op SQS record's overhead on Lambda (bench/lambda). The bytes are the
 * same CSPRNG's, each used once.
 */
function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  let hex = "";
  for (let i = poolOffset; i < poolOffset + bytes; i++) hex += byteHex[pool[i]!];
  poolOffset += bytes;
  return hex;
}

const pool = new Uint8Array(4096);
let poolOffset = pool.length;
const byteHex = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
