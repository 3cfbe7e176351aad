/**
 * EventBridge events. A scheduled rule's event (`source: "aws.events"`, `detail-type:
 * "Scheduled Event"`) runs the `cron` function its rule was made for: the event does not carry
 * the schedule expression, only the rule's ARN in `resources`, so the build maps rule names to
 * cron function ids (`schedules`). Other EventBridge events (S3 via EventBridge, custom buses, …)
 * are not routed yet: they are an {@link UnknownEventError} naming their source and detail-type.
 *
 * A cron function that fails is logged, not thrown, as on Workers and Node: a tick is not
 * retried — the next tick comes — and Lambda's retries of a thrown error would run it late.
 */
import type { EventBridgeEvent, ScheduledEvent } from "aws-lambda";
import type { App } from "../../../src/core/app.ts";
import type { Logger } from "../../../src/core/logger.ts";
import { arnResourceName, hasStrings, isObject, isString } from "../guards.ts";
import { runTrigger } from "../../../src/core/triggers.ts";

/** The envelope every EventBridge event has (version "0"). */
export function isEventBridgeEvent(event: unknown): event is EventBridgeEvent<string, unknown> {
  return (
    isObject(event) &&
    event.version === "0" &&
    hasStrings(event, "id", "detail-type", "source", "account", "time", "region") &&
    Array.isArray(event.resources) &&
    event.resources.every(isString) &&
    "detail" in event
  );
}

/** A scheduled rule's event: `resources[0]` is the rule's ARN. */
export function isScheduledEvent(event: unknown): event is ScheduledEvent {
  return (
    isEventBridgeEvent(event) &&
    event.source === "aws.events" &&
    event["detail-type"] === "Scheduled Event" &&
    event.resources.length >= 1
  );
}

export interface ScheduleRequest {
  app: App;
  event: ScheduledEvent;
  /** Rule name → cron function id (`<module>.<export>`). */
  schedules: Readonly<Record<string, string>>;
  logger: Logger;
}

/** Runs the cron function mapped to the event's rule; runs none, loudly, when there is none. */
export async function runSchedule({ app, event, schedules, logger }: ScheduleRequest): Promise<void> {
  // `rule/<name>` on the default bus, `rule/<bus>/<name>` on another: the name is the last part.
  const rule = arnResourceName(event.resources[0]!);
  const id = schedules[rule];
  const cron = id === undefined ? undefined : app.registry.crons.find((entry) => entry.id === id);
  if (!cron) {
    logger.error(
      id === undefined
        ? `EventBridge rule "${rule}" is mapped to no cron function; running none`
        : `EventBridge rule "${rule}" is mapped to cron function "${id}", which this app does not have; running none`,
      { rule, mapped: Object.keys(schedules), crons: app.registry.crons.map((entry) => entry.id) },
    );
    return;
  }
  await runTrigger(app, { id: cron.id, run: (ctx) => cron.definition.handler(ctx) });
}
