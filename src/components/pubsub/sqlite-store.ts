/**
 * The tables and statements behind `pubsub.sqlite`: what is stored, and the single-statement
 * claim that makes one file safe for several processes. No timers, no delivery logic — that is
 * the component's (sqlite.ts).
 *
 * One message row per publish; one delivery row per (message, registered subscription), which
 * carries that subscription's state: attempt, when it is due (`visible_at`), and who holds it
 * until when (`claim`, `lease_until`). Times are epoch milliseconds.
 */
import type BetterSqlite3 from "better-sqlite3";

const schema = `
CREATE TABLE IF NOT EXISTS mecha_pubsub_subscriptions (
  topic TEXT NOT NULL,
  subscription TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (topic, subscription)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mecha_pubsub_messages (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  topic TEXT NOT NULL,
  data BLOB NOT NULL,
  content_type TEXT,
  metadata TEXT,
  published_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mecha_pubsub_deliveries (
  seq INTEGER PRIMARY KEY,
  message_seq INTEGER NOT NULL,
  topic TEXT NOT NULL,
  subscription TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  visible_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0,
  claim TEXT,
  acked_at INTEGER
);
CREATE INDEX IF NOT EXISTS mecha_pubsub_deliveries_due
  ON mecha_pubsub_deliveries (topic, subscription, visible_at, seq) WHERE acked_at IS NULL;
CREATE INDEX IF NOT EXISTS mecha_pubsub_deliveries_message ON mecha_pubsub_deliveries (message_seq);
CREATE INDEX IF NOT EXISTS mecha_pubsub_deliveries_acked
  ON mecha_pubsub_deliveries (acked_at) WHERE acked_at IS NOT NULL;
`;

/** A delivery row a consumer now holds. */
export interface ClaimedRow {
  /** The delivery row: what the consumer settles. */
  seq: number;
  /** The message's id, the same for every subscription and every redelivery. */
  id: string;
  data: Uint8Array;
  contentType: string | undefined;
  metadata: Record<string, string>;
  attempt: number;
}

export interface ClaimRequest {
  topic: string;
  subscription: string;
  limit: number;
  now: number;
  leaseUntil: number;
  /** Written to the rows so that only this claim's holder can settle them. */
  claim: string;
}

export interface QueueStore {
  /**
   * Records the subscription so that publishes from now on keep a row for it. Idempotent. A new
   * subscription also gets the topic's messages published since `retainedSince` — as a Redis
   * consumer group created at the start of its stream does — so nothing published before the
   * first subscriber (a dead-letter topic nobody reads yet, a `mecha publish` before the first
   * `mecha start`) is lost.
   */
  register(topic: string, subscription: string, now: number, retainedSince: number): void;
  /** Stores the message and its delivery rows atomically; kept for `retention` even with no subscription. True when some subscription got a row. */
  publish(message: { id: string; topic: string; data: Uint8Array; contentType: string; metadata?: Record<string, string>; now: number }): boolean;
  /** Takes up to `limit` due rows of a subscription, oldest first, and leases them. */
  claim(request: ClaimRequest): ClaimedRow[];
  ack(seq: number, claim: string, now: number): void;
  retry(seq: number, claim: string, visibleAt: number): void;
  /** Gives a claimed row back, due at once. */
  release(seq: number, claim: string): void;
  /** Deletes acked rows older than `before`, and messages no subscription still needs. */
  cleanup(before: number): void;
  close(): void;
}

interface ClaimRowRecord {
  seq: number;
  attempt: number;
  visibleAt: number;
  id: string;
  data: Buffer;
  contentType: string | null;
  metadata: string | null;
}

/** Prepares the database (WAL, busy timeout, tables) and its statements. */
export function openQueueStore(db: BetterSqlite3.Database, busyTimeoutMs: number): QueueStore {
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(schema);

  const register = db.prepare(
    `INSERT OR IGNORE INTO mecha_pubsub_subscriptions (topic, subscription, created_at) VALUES (?, ?, ?)`,
  );
  const insertMessage = db.prepare(
    `INSERT INTO mecha_pubsub_messages (id, topic, data, content_type, metadata, published_at)
     VALUES (@id, @topic, @data, @contentType, @metadata, @now)`,
  );
  const backfill = db.prepare(
    `INSERT INTO mecha_pubsub_deliveries (message_seq, topic, subscription, visible_at)
     SELECT seq, topic, @subscription, @now FROM mecha_pubsub_messages
      WHERE topic = @topic AND published_at >= @retainedSince ORDER BY seq`,
  );
  const registerNew = db.transaction((topic: string, subscription: string, now: number, retainedSince: number) => {
    if (register.run(topic, subscription, now).changes === 0) return;
    backfill.run({ topic, subscription, now, retainedSince });
  });
  const insertDeliveries = db.prepare(
    `INSERT INTO mecha_pubsub_deliveries (message_seq, topic, subscription, visible_at)
     SELECT @messageSeq, topic, subscription, @now FROM mecha_pubsub_subscriptions WHERE topic = @topic`,
  );
  const claim = db.prepare(
    `UPDATE mecha_pubsub_deliveries
        SET lease_until = @leaseUntil, attempt = attempt + 1, claim = @claim
      WHERE seq IN (
        SELECT seq FROM mecha_pubsub_deliveries
         WHERE topic = @topic AND subscription = @subscription AND acked_at IS NULL
           AND visible_at <= @now AND lease_until <= @now
         ORDER BY visible_at, seq
         LIMIT @limit)
      RETURNING seq, attempt, visible_at AS visibleAt,
        (SELECT id FROM mecha_pubsub_messages m WHERE m.seq = message_seq) AS id,
        (SELECT data FROM mecha_pubsub_messages m WHERE m.seq = message_seq) AS data,
        (SELECT content_type FROM mecha_pubsub_messages m WHERE m.seq = message_seq) AS contentType,
        (SELECT metadata FROM mecha_pubsub_messages m WHERE m.seq = message_seq) AS metadata`,
  );
  const ack = db.prepare(
    `UPDATE mecha_pubsub_deliveries SET acked_at = ?, lease_until = 0 WHERE seq = ? AND claim = ? AND acked_at IS NULL`,
  );
  const retry = db.prepare(
    `UPDATE mecha_pubsub_deliveries SET visible_at = ?, lease_until = 0, claim = NULL
      WHERE seq = ? AND claim = ? AND acked_at IS NULL`,
  );
  const release = db.prepare(
    `UPDATE mecha_pubsub_deliveries SET lease_until = 0, claim = NULL WHERE seq = ? AND claim = ? AND acked_at IS NULL`,
  );
  const deleteAcked = db.prepare(`DELETE FROM mecha_pubsub_deliveries WHERE acked_at IS NOT NULL AND acked_at < ?`);
  const deleteMessages = db.prepare(
    `DELETE FROM mecha_pubsub_messages WHERE published_at < ?
        AND NOT EXISTS (SELECT 1 FROM mecha_pubsub_deliveries d WHERE d.message_seq = mecha_pubsub_messages.seq)`,
  );

  // IMMEDIATE: take the write lock up front, so a concurrent writer makes us wait (busy
  // timeout) instead of failing the upgrade from a read lock.
  const publish = db.transaction((message: Parameters<QueueStore["publish"]>[0]) => {
    const inserted = insertMessage.run({
      id: message.id,
      topic: message.topic,
      data: Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength),
      contentType: message.contentType,
      metadata: message.metadata && Object.keys(message.metadata).length ? JSON.stringify(message.metadata) : null,
      now: message.now,
    });
    return insertDeliveries.run({ messageSeq: inserted.lastInsertRowid, topic: message.topic, now: message.now }).changes > 0;
  });
  const cleanup = db.transaction((before: number) => {
    deleteAcked.run(before);
    deleteMessages.run(before);
  });

  return {
    register: (topic, subscription, now, retainedSince) => registerNew.immediate(topic, subscription, now, retainedSince),
    publish: (message) => publish.immediate(message),
    claim: (request) =>
      // RETURNING does not keep the subquery's order.
      (claim.all(request) as ClaimRowRecord[]).sort((a, b) => a.visibleAt - b.visibleAt || a.seq - b.seq).map(
        (row) => ({
          seq: row.seq,
          id: row.id,
          data: new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength),
          contentType: row.contentType ?? undefined,
          metadata: row.metadata ? (JSON.parse(row.metadata) as Record<string, string>) : {},
          attempt: row.attempt,
        }),
      ),
    ack: (seq, claimId, now) => void ack.run(now, seq, claimId),
    retry: (seq, claimId, visibleAt) => void retry.run(visibleAt, seq, claimId),
    release: (seq, claimId) => void release.run(seq, claimId),
    cleanup: (before) => cleanup.immediate(before),
    close: () => db.close(),
  };
}
