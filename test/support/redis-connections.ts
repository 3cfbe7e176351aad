/**
 * What the Redis component tests do from the server side: cut a component's connection (its
 * client names itself `mecha:<component name>`, see src/components/redis-connection.ts, so a
 * test kills exactly that connection and no other test's), and remove the keys a test file made.
 */
import type { Redis } from "ioredis";
import { waitFor } from "./wait.ts";

/** The id of the connection the component named `name` holds, from CLIENT LIST. */
export async function connectionId(admin: Redis, name: string): Promise<string | undefined> {
  const line = ((await admin.client("LIST")) as string).split("\n").find((l) => l.includes(` name=mecha:${name} `));
  return line && /\bid=(\d+)/.exec(line)?.[1];
}

/** Kills the component's connection (CLIENT KILL ID) and waits until it has connected again. */
export async function killAndAwaitReconnect(admin: Redis, name: string): Promise<void> {
  const before = await connectionId(admin, name);
  if (before === undefined) throw new Error(`no Redis connection is named mecha:${name}; use the component first`);
  await admin.client("KILL", "ID", before);
  await waitFor(
    async () => {
      const now = await connectionId(admin, name);
      return now !== undefined && now !== before;
    },
    { what: `component "${name}" to reconnect to Redis` },
  );
}

/** Deletes every key matching the glob `match` (a test file's own prefix), in batches. */
export async function deleteKeys(admin: Redis, match: string): Promise<void> {
  for await (const keys of admin.scanStream({ match, count: 500 })) {
    if ((keys as string[]).length) await admin.del(...(keys as string[]));
  }
}
