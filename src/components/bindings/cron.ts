/**
 * `bindings.cron`: an input binding that triggers functions on a schedule, as Dapr's does — and
 * the schedule parser the Node host reuses for `cron("...", handler)` functions, so both read
 * schedules the same way.
 *
 * Metadata (Dapr's): `schedule` (required). Accepted, like Dapr's parser:
 * - 5 fields: `*\/5 * * * *` (minute hour day-of-month month day-of-week)
 * - 6 fields, seconds first: `*\/15 * * * * *`
 * - descriptors: `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@midnight` `@hourly`
 * - `@every <duration>`: `@every 15s`, `@every 1h30m` (at least one second, as in Dapr)
 * - a `CRON_TZ=Europe/Berlin ` (or `TZ=`) prefix for the time zone; the default is the host's.
 *
 * Each tick delivers `{ data: undefined, metadata: { timeZone, readTimeUTC, scheduledTime } }`.
 * A tick that comes while the previous run is still busy is skipped, never run in parallel.
 */
import type { InputBindingComponent, InputBindingEvent } from "../../blocks/bindings.ts";
import { parseDurationMs } from "../../config/metadata.ts";
import { InvalidRequestError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";

export const type = "bindings.cron";

/** One tick of a schedule. */
export interface ScheduleTick {
  /** When the tick was due (whole seconds for cron patterns). */
  scheduledTime: Date;
  /** The IANA time zone the schedule is read in. */
  timeZone: string;
}

/** A running schedule. */
export interface Schedule {
  readonly timeZone: string;
  /** When the next tick is due. */
  nextRun(): Date | undefined;
  /** Stops ticking, then waits for a run in progress to finish. */
  stop(): Promise<void>;
}

export interface ScheduleOptions {
  /** Receives what `onTick` throws; ticks go on either way. Default: ignore (onTick should log). */
  onError?: (error: unknown) => void;
}

/** Creates the binding; the schedule is checked now and started by `start`. */
export function create({ metadata }: ComponentOptions): InputBindingComponent {
  const schedule = metadata.requiredString("schedule");
  const problem = scheduleProblem(schedule);
  if (problem) throw metadata.error("schedule", problem);
  const running = new Set<Schedule>();

  return {
    type,
    async start(handle) {
      const job = await createSchedule(schedule, ({ scheduledTime, timeZone }) => handle(tickEvent(scheduledTime, timeZone))).catch(
        (error: unknown) => {
          throw error instanceof InvalidRequestError ? metadata.error("schedule", error.message) : error;
        },
      );
      running.add(job);
      return {
        async stop() {
          running.delete(job);
          await job.stop();
        },
      };
    },
    async close() {
      const jobs = [...running];
      running.clear();
      await Promise.all(jobs.map((job) => job.stop()));
    },
  };
}

/**
 * Starts a schedule (see the module comment for the syntax); `croner` is loaded on first use.
 * @throws InvalidRequestError when the expression is not a schedule
 * @example
 * const schedule = await createSchedule("*\/5 * * * *", async ({ scheduledTime }) => sweep(scheduledTime));
 * await schedule.stop();
 */
export async function createSchedule(
  expression: string,
  onTick: (tick: ScheduleTick) => Promise<void> | void,
  options: ScheduleOptions = {},
): Promise<Schedule> {
  const problem = scheduleProblem(expression);
  if (problem) throw new InvalidRequestError(`invalid schedule "${expression}": ${problem}`);
  const { zone, rest } = splitTimeZone(expression.trim());
  const timeZone = zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;

  let inFlight: Promise<void> | undefined;
  const tick = (scheduledTime: Date): void => {
    if (inFlight) return; // still busy with the last tick: skip rather than overlap
    inFlight = (async () => onTick({ scheduledTime, timeZone }))()
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => (inFlight = undefined));
  };
  const stopped = async (halt: () => void): Promise<void> => {
    halt();
    await inFlight;
  };

  if (rest.startsWith("@every")) {
    const intervalMs = everyIntervalMs(rest)!;
    let next = Date.now() + intervalMs;
    const timer = setInterval(() => {
      tick(new Date(next));
      next += intervalMs;
    }, intervalMs);
    return { timeZone, nextRun: () => new Date(next), stop: () => stopped(() => clearInterval(timer)) };
  }

  const { Cron } = await import("croner");
  let job: InstanceType<typeof Cron>;
  try {
    job = new Cron(rest, { timezone: timeZone, mode: "5-or-6-parts", protect: true }, () => {
      // Timers fire a little after the due second, never before it.
      tick(new Date(Math.floor(Date.now() / 1000) * 1000));
    });
  } catch (cause) {
    throw new InvalidRequestError(`invalid schedule "${expression}": ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
  return { timeZone, nextRun: () => job.nextRun() ?? undefined, stop: () => stopped(() => job.stop()) };
}

/**
 * Why an expression is not a schedule, or undefined if it looks like one. A cheap check that
 * needs no library, so a bad schedule fails when the component is created; croner has the final
 * word when the schedule starts.
 */
export function scheduleProblem(expression: string): string | undefined {
  const { zone, rest } = splitTimeZone(expression.trim());
  if (zone !== undefined && !isTimeZone(zone)) return `unknown time zone "${zone}"`;
  if (!rest) return "is empty";
  if (rest.startsWith("@every")) {
    const ms = everyIntervalMs(rest);
    if (ms === undefined) return 'needs a duration after @every, e.g. "@every 15s" or "@every 1h30m"';
    // Timers overflow past 2^31-1 ms (about 24.8 days) and then fire at once, over and over.
    if (ms > maxEveryMs) return "must be at most 24 days (use a cron expression for longer periods)";
    return undefined;
  }
  if (rest.startsWith("@")) {
    return descriptors.includes(rest) ? undefined : `unknown descriptor "${rest}"; use one of ${descriptors.join(", ")} or "@every <duration>"`;
  }
  const fields = rest.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return `has ${fields.length} fields; use 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`;
  }
  const specs = fields.length === 6 ? fieldSpecs : fieldSpecs.slice(1);
  for (const [i, field] of fields.entries()) {
    const problem = fieldProblem(field, specs[i]!);
    if (problem) return `${specs[i]!.name} field "${field}": ${problem}`;
  }
  return undefined;
}

const descriptors = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

const months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const weekdays = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** The value of `names[0]`: months count from 1, weekdays from 0. */
  firstNameValue?: number;
  /** `?`, `L`, `W` and `#` are only meaningful in the day fields. */
  dayField?: boolean;
}

const fieldSpecs: readonly FieldSpec[] = [
  { name: "second", min: 0, max: 59 },
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31, dayField: true },
  { name: "month", min: 1, max: 12, names: months, firstNameValue: 1 },
  { name: "day-of-week", min: 0, max: 7, names: weekdays, firstNameValue: 0, dayField: true },
];

function fieldProblem(field: string, spec: FieldSpec): string | undefined {
  for (const part of field.split(",")) {
    // L, W and # (last day, weekday, nth weekday) have their own grammar; croner checks those.
    if (spec.dayField && /[LW#]/i.test(part.replace(/^(MON|TUE|WED|THU|FRI|SAT|SUN)\b/i, ""))) continue;
    const match = /^(\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(part);
    if (!match) return `cannot read "${part}"`;
    if (match[1] === "?" && !spec.dayField) return `"?" is only allowed in the day fields`;
    if (match[2] !== undefined && Number(match[2]) < 1) return `step must be at least 1`;
    if (match[1] === "*" || match[1] === "?") continue;
    for (const bound of match[1]!.split("-")) {
      const value = /^\d+$/.test(bound) ? Number(bound) : nameValue(bound, spec);
      if (value === undefined) return `"${bound}" is not a ${spec.name}`;
      if (value < spec.min || value > spec.max) return `${bound} is out of range ${spec.min}-${spec.max}`;
    }
  }
  return undefined;
}

function nameValue(bound: string, spec: FieldSpec): number | undefined {
  const index = spec.names?.indexOf(bound.toUpperCase()) ?? -1;
  return index < 0 ? undefined : index + (spec.firstNameValue ?? 0);
}

/** `CRON_TZ=Zone rest` / `TZ=Zone rest` (robfig/cron's syntax, which Dapr's parser shares). */
function splitTimeZone(expression: string): { zone?: string; rest: string } {
  const match = /^(?:CRON_TZ|TZ)=(\S+)\s*(.*)$/.exec(expression);
  return match ? { zone: match[1]!, rest: match[2]!.trim() } : { rest: expression };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const maxEveryMs = 24 * 24 * 3_600_000;

/** The `@every` interval; Dapr rounds anything under a second up to one second. */
function everyIntervalMs(rest: string): number | undefined {
  const duration = rest.slice("@every".length).trim();
  // Go durations need a unit; parseDurationMs would read a bare number as milliseconds.
  const ms = /^\d+$/.test(duration) ? undefined : parseDurationMs(duration);
  if (ms === undefined || ms <= 0) return undefined;
  return Math.max(1000, ms);
}

function tickEvent(scheduledTime: Date, timeZone: string): InputBindingEvent {
  return {
    data: undefined,
    metadata: { timeZone, readTimeUTC: new Date().toISOString(), scheduledTime: scheduledTime.toISOString() },
  };
}
