/**
 * Graceful shutdown on SIGTERM/SIGINT: the host stops taking work, finishes what is in flight,
 * and exits. A second signal exits at once (unfinished messages stay unacked and come back).
 */
import type { Logger } from "../../src/core/logger.ts";
import type { NodeHost } from "./host.ts";

export function stopOnSignals(host: NodeHost, logger?: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger?.warn(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    logger?.info(`${signal}: finishing in-flight work, then exiting`);
    host.close().then(
      () => process.exit(0),
      (error) => {
        logger?.error("shutdown failed", { error });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
