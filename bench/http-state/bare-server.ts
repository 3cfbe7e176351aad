/**
 * The baseline: a bare Hono handler doing the same work on the same kind of store — the same
 * SQLite schema, statements and transaction as state.sqlite, with no mecha in between.
 */
import { serve } from "@hono/node-server";
import Database from "better-sqlite3";
import { Hono } from "hono";
import { randomUUID } from "node:crypto";
import { join } from "node:path";

const [dir] = process.argv.slice(2) as [string];
const db = new Database(join(dir, "bare.db"), { timeout: 2000 });
db.pragma("journal_mode = WAL");
db.exec(`CREATE TABLE IF NOT EXISTS state (key TEXT NOT NULL PRIMARY KEY, value BLOB NOT NULL, etag TEXT NOT NULL,
  expires_at INTEGER NULL, updated_at INTEGER NOT NULL)`);
const read = db.prepare<[string, number], { value: string; etag: string }>(
  "SELECT key, value, etag FROM state WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
);
const upsert = db.prepare(`INSERT INTO state (key, value, etag, expires_at, updated_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at, updated_at = excluded.updated_at`);
const write = db.transaction((key: string, value: string) => {
  const now = Date.now();
  read.get(key, now);
  const etag = randomUUID();
  upsert.run(key, value, etag, null, now);
  return etag;
});

const app = new Hono();
app.post("/counter/:id", (c) => {
  const key = `bench||${c.req.param("id")}`;
  const current = read.get(key, Date.now());
  const n = current ? (JSON.parse(current.value) as { n: number }).n : 0;
  const etag = write.immediate(key, JSON.stringify({ n: n + 1 }));
  return c.json({ etag });
});
app.get("/hello", (c) => c.json({ ok: true }));
app.get("/state/:id", (c) => {
  const current = read.get(`bench||${c.req.param("id")}`, Date.now());
  return c.json({ n: current ? (JSON.parse(current.value) as { n: number }).n : 0 });
});
const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  console.log(`listening http://127.0.0.1:${info.port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
