/**
 * The Redis Streams wire of `pubsub.redis`: how a message is laid out in a stream entry, and the
 * Lua scripts whose check-then-act must be atomic against other hosts of the same consumer group.
 *
 * An entry has Dapr's fields — `data` (the bytes) and `metadata` (the metadata as a JSON object,
 * left out when empty) — plus `contentType`, which Dapr's reader ignores. Entries a Dapr sidecar
 * wrote (no `contentType`) read back with an undefined content type, as Dapr itself reads them.
 */
import type { Redis } from "ioredis";

/** A stream entry as read: its id, delivery count (attempt) and decoded message. */
export interface StreamEntry {
  id: string;
  /** How many times the group has delivered it, this delivery included (XPENDING's count). */
  attempt: number;
  data: Uint8Array;
  contentType: string | undefined;
  metadata: Record<string, string>;
}

/** The field/value pairs of XADD for a message. */
export function entryFields(request: { data: Uint8Array; contentType: string; metadata?: Record<string, string> }): Array<string | Buffer> {
  const fields: Array<string | Buffer> = ["data", Buffer.from(request.data.buffer, request.data.byteOffset, request.data.byteLength)];
  if (request.metadata && Object.keys(request.metadata).length > 0) fields.push("metadata", JSON.stringify(request.metadata));
  fields.push("contentType", request.contentType);
  return fields;
}

/**
 * One raw entry (`[id, [field, value, …]]`, as Buffers) as a {@link StreamEntry}; undefined for an
 * entry that no longer exists (Redis answers it with no fields).
 */
export function decodeEntry(raw: unknown, attempt: number): StreamEntry | undefined {
  if (!Array.isArray(raw) || raw.length < 2 || !Array.isArray(raw[1])) return undefined;
  const [id, pairs] = raw as [Buffer, Buffer[]];
  let data: Uint8Array = new Uint8Array(0);
  let contentType: string | undefined;
  let metadata: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const field = pairs[i]!.toString();
    const value = pairs[i + 1]!;
    if (field === "data") data = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    else if (field === "contentType") contentType = value.toString();
    else if (field === "metadata") metadata = parseMetadata(value.toString());
  }
  return { id: id.toString(), attempt, data, contentType, metadata };
}

/** Dapr's `metadata` field: a JSON object of strings. Anything else reads as no metadata. */
function parseMetadata(text: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((pair): pair is [string, string] => typeof pair[1] === "string"));
  } catch {
    return {};
  }
}

/**
 * The XREADGROUP reply for one stream (`[[stream, [entry, …]]]` or null) as its raw entries.
 * Entries read with `>` are delivered for the first time: their attempt is 1.
 */
export function readEntries(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) return [];
  const [first] = reply as unknown[][];
  return Array.isArray(first) && Array.isArray(first[1]) ? first[1] : [];
}

// Every script takes the stream as KEYS[1] and the group, then this consumer, as ARGV[1], ARGV[2].
// XPENDING's extended form answers [[id, owner, idle, deliveries]].
const ownedCheck = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] or p[1][4] ~= tonumber(ARGV[4]) then return nil end
`;

/**
 * The scripts, for `connectRedis(…, { scripts })`: ioredis defines each as a command, sends it by
 * SHA and loads it where Redis does not know it yet.
 */
export const streamScripts = {
  /**
   * retry(delay): the entry stays pending with this consumer, its idle time set so that it turns
   * reclaimable by any consumer (idle >= processingTimeout) just when the delay ends — if this
   * host dies meanwhile, another redelivers it on time. Only while this consumer still owns the
   * entry at the delivery count it handled (another host may have reclaimed it since).
   * ARGV: group, consumer, id, deliveries, idle ms (negative: leave the idle time). Answers 1 or nil.
   */
  mechaStreamHold: { numberOfKeys: 1, lua: `${ownedCheck}
if tonumber(ARGV[5]) >= 0 then redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[5], 'JUSTID') end
return 1` },
  /**
   * The retry delay is over: deliver the entry again, counting one more delivery — only if this
   * consumer still owns it at the count it held it with (nobody reclaimed it meanwhile).
   * ARGV: group, consumer, id, deliveries. Answers [entry, deliveries] or nil.
   */
  mechaStreamTake: { numberOfKeys: 1, lua: `${ownedCheck}
local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3])
if #claimed == 0 or not claimed[1] then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  return nil
end
return {claimed[1], p[1][4] + 1}` },
  /**
   * XAUTOCLAIM entries idle for at least processingTimeout (left by a dead consumer, or retried
   * and due), each with its delivery count after the claim. Once a scan has gone round the whole
   * pending list, consumers with nothing pending that have not read for ARGV[6] ms (hosts that
   * died; every host has a name of its own, so they would pile up) are removed from the group —
   * harmless even for a live one, which XREADGROUP adds back.
   * ARGV: group, consumer, min idle ms, cursor, count, stale ms. Answers [next cursor, entries, counts].
   */
  mechaStreamReclaim: { numberOfKeys: 1, lua: `
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local entries, counts = {}, {}
for _, e in ipairs(r[2]) do
  if e and e[1] then
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    entries[#entries + 1] = e
    counts[#counts + 1] = (p[1] and p[1][4]) or 1
  end
end
if r[1] == '0-0' then
  for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
    local info = {}
    for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
    if info.name ~= ARGV[2] and info.pending == 0 and info.idle >= tonumber(ARGV[6]) then
      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info.name)
    end
  end
end
return {r[1], entries, counts}` },
  /**
   * On close: remove this consumer from the group when it holds nothing — with pending entries
   * it stays, or those entries could never be claimed again.
   * ARGV: group, consumer. Answers 1 when removed.
   */
  mechaStreamLeave: { numberOfKeys: 1, lua: `
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2]) >= 0 and 1 or 0` },
} as const;

export type StreamScript = keyof typeof streamScripts;

type ScriptCall = (stream: string, ...args: Array<string | number>) => Promise<unknown>;

/** Runs one of {@link streamScripts} on a client made with them, with Buffer replies (entry data keeps its bytes). */
export function runScript(redis: Redis, name: StreamScript, stream: string, ...args: Array<string | number>): Promise<unknown> {
  const command = (redis as unknown as Record<string, ScriptCall | undefined>)[`${name}Buffer`];
  if (!command) throw new Error(`pubsub.redis: script ${name} is not defined on this client`);
  return command.call(redis, stream, ...args);
}
