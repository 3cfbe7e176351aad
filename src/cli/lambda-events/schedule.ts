/** A sample EventBridge scheduled event: what a schedule rule sends when it fires. */
import type { ScheduledEvent } from "aws-lambda";
import { defaultRegion, freshId, isoSeconds, sampleAccount } from "./sample-values.ts";

/** The rule that fires. */
export interface ScheduleSampleRequest {
  /** The rule's name; a rule `mecha build` made is `<app-id>-<module>.<export>`. */
  rule: string;
  region?: string;
}

/** The event of a scheduled rule on the default event bus. */
export function scheduledEvent(request: ScheduleSampleRequest): ScheduledEvent {
  const region = request.region ?? defaultRegion;
  return {
    version: "0",
    id: freshId(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: sampleAccount,
    time: isoSeconds(new Date()),
    region,
    resources: [`arn:aws:events:${region}:${sampleAccount}:rule/${request.rule}`],
    detail: {},
  };
}
