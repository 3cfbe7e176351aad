/**
 * No lost updates: 50 concurrent writers, each doing 100 etag-guarded read-increment-write cycles
 * (retrying on a mismatch), end with exactly 5,000 — on the local SQLite store, Redis and
 * PostgreSQL. The writers are spread over ten separately created components (ten connections,
 * as ten hosts would have), so the compare-and-set is the backend's, not one client's.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createStateClient, type StateStoreComponent } from "../../src/blocks/state.ts";
import { componentCatalog } from "../../src/components/catalog.ts";
import type { ComponentModule } from "../../src/components/types.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { incrementWithEtags } from "../support/etag-increments.ts";
import { serviceOrSkip, type ServiceName } from "../support/services.ts";
import { freshName } from "../support/wait.ts";

const connections = 10;
const writersPerConnection = 5;
const cycles = 100;

interface Store {
  type: string;
  service?: ServiceName;
  /** Metadata for one run; `dir` is a fresh temporary folder. */
  metadata: (dir: string, run: string) => Record<string, string>;
  /** Deletes what the run left on the server (the temporary folder goes anyway). */
  cleanup?: (metadata: Record<string, string>, key: string) => Promise<void>;
}

const stores: Store[] = [
  { type: "state.sqlite", metadata: (dir) => ({ connectionString: join(dir, "state.db") }) },
  {
    type: "state.redis",
    service: "redis",
    metadata: () => ({ redisHost: "127.0.0.1:6379" }),
    async cleanup(_metadata, key) {
      const { Redis } = await import("ioredis");
      const redis = new Redis({ host: "127.0.0.1", port: 6379 });
      await redis.del(...(await redis.keys(`*||${key}`)));
      redis.disconnect();
    },
  },
  {
    type: "state.postgresql",
    service: "postgresql",
    metadata: (_dir, run) => ({ connectionString: "postgres://postgres@127.0.0.1:5432/test", tableName: run.replaceAll("-", "_") }),
    async cleanup({ connectionString, tableName }) {
      const { default: pg } = await import("pg");
      const client = new pg.Client({ connectionString });
      await client.connect();
      await client.query(`DROP TABLE IF EXISTS "${tableName}"`);
      await client.end();
    },
  },
];

for (const store of stores) {
  const up = store.service ? await serviceOrSkip(store.service, `the lost-update test on ${store.type}`) : true;
  describe.skipIf(!up || !(store.type in componentCatalog))(`no lost updates: ${store.type}`, () => {
    const opened: StateStoreComponent[] = [];
    let dir: string | undefined;
    let made: { metadata: Record<string, string>; key: string } | undefined;
    afterAll(async () => {
      await Promise.all(opened.map((s) => s.close()));
      if (made) await store.cleanup?.(made.metadata, made.key);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it(`${connections * writersPerConnection} writers × ${cycles} etag-guarded increments end at exactly ${connections * writersPerConnection * cycles}`, async () => {
      dir = await mkdtemp(join(tmpdir(), "mecha-lost-updates-"));
      const run = freshName("lost-updates");
      const metadata = store.metadata(dir, run);
      const module = (await componentCatalog[store.type]!.load()) as ComponentModule<"state">;
      const appId = freshName("app");
      const clients = Array.from({ length: connections }, () => {
        const component = module.create({ name: "counters", appId, baseDir: dir!, metadata: new ComponentMetadata(metadata, "counters") });
        opened.push(component);
        return createStateClient({ name: "counters", appId, store: component });
      });
      const key = `counter-${run}`;
      made = { metadata, key };
      await clients[0]!.set(key, 0);
      const writers = clients.flatMap((client) => Array.from({ length: writersPerConnection }, () => client));
      const conflicts = await incrementWithEtags(writers, key, cycles);
      expect((await clients[connections - 1]!.get<number>(key))?.value).toBe(connections * writersPerConnection * cycles);
      // The writers really raced: without conflicts the test would prove nothing.
      expect(conflicts).toBeGreaterThan(0);
    }, 180_000);
  });
}
