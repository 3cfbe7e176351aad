/** The lost-update check: writers doing etag-guarded read-increment-write cycles, retrying on a mismatch. */
import type { StateClient } from "../../src/blocks/state.ts";
import { ErrorCodes } from "../../src/errors.ts";

/**
 * Each client in `writers` (one client may appear several times) adds `times` to the number at
 * `key`. Resolves with how many writes lost the race and were retried.
 */
export async function incrementWithEtags(writers: readonly StateClient[], key: string, times: number): Promise<number> {
  let conflicts = 0;
  await Promise.all(
    writers.map(async (state) => {
      for (let done = 0; done < times; ) {
        const current = await state.get<number>(key);
        try {
          await state.set(key, current!.value + 1, { etag: current!.etag });
          done++;
        } catch (error) {
          if ((error as { code?: string }).code !== ErrorCodes.etagMismatch) throw error;
          conflicts++;
        }
      }
    }),
  );
  return conflicts;
}
