/**
 * Dapr's distributed lock API (v1.0-alpha1): `POST /lock/{store}` answers `{ success }`,
 * `POST /unlock/{store}` answers `{ status }` as Dapr's enum number (0 SUCCESS, 1 LOCK_DOES_NOT_EXIST,
 * 2 LOCK_BELONGS_TO_OTHERS, 3 INTERNAL_ERROR).
 */
import type { Hono } from "hono";
import { UnlockStatuses } from "../blocks/lock.ts";
import { answerFailureAs, type ApiDeps } from "./context.ts";
import { DaprErrorCodes } from "./errors.ts";
import { asObject, readJson } from "./request.ts";

export function mountLockRoutes(api: Hono, deps: ApiDeps): void {
  const store = (name: string) => {
    deps.components.require("lock", name);
    return answerFailureAs(DaprErrorCodes.tryLock, deps.runtime.lock(name));
  };

  api.post("/v1.0-alpha1/lock/:store", async (c) => {
    const locks = await store(c.req.param("store"));
    const body = asObject(await readJson(c), "the lock request");
    const { success } = await answerFailureAs(DaprErrorCodes.tryLock, () =>
      locks.tryLock({ resourceId: body["resourceId"] as string, lockOwner: body["lockOwner"] as string, expiryInSeconds: body["expiryInSeconds"] as number }),
    );
    return c.json({ success });
  });

  api.post("/v1.0-alpha1/unlock/:store", async (c) => {
    const locks = await store(c.req.param("store"));
    const body = asObject(await readJson(c), "the unlock request");
    const { status } = await answerFailureAs(DaprErrorCodes.unlock, () =>
      locks.unlock({ resourceId: body["resourceId"] as string, lockOwner: body["lockOwner"] as string }),
    );
    return c.json({ status: UnlockStatuses.indexOf(status) });
  });
}
