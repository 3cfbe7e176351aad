/**
 * A `cron(...)` function's schedule as an EventBridge schedule expression. mecha reads schedules
 * the way Dapr's cron binding does (five fields, or six with seconds first; `@daily`-style
 * descriptors; `@every 5m`); EventBridge rules take `cron(min hour day-of-month month day-of-week
 * year)` in UTC, with `?` in one of the two day fields and Sunday as 1, or `rate(5 minutes)`.
 * What EventBridge cannot express — seconds, both day fields restricted, another time zone — is
 * an error naming why, never an approximation.
 */

/** The schedule cannot become an EventBridge expression; the message says why. */
export class ScheduleConversionError extends Error {
  constructor(schedule: string, reason: string) {
    super(`schedule "${schedule}" cannot run on EventBridge: ${reason}`);
    this.name = new.target.name;
  }
}

const descriptorExpressions: Readonly<Record<string, string>> = {
  "@yearly": "cron(0 0 1 1 ? *)",
  "@annually": "cron(0 0 1 1 ? *)",
  "@monthly": "cron(0 0 1 * ? *)",
  "@weekly": "cron(0 0 ? * 1 *)",
  "@daily": "cron(0 0 * * ? *)",
  "@midnight": "cron(0 0 * * ? *)",
  "@hourly": "cron(0 * * * ? *)",
};

/**
 * Converts a schedule; the schedule must already be valid for mecha (the function was accepted).
 * @example
 * eventBridgeSchedule("*\/5 * * * *")   // "cron(*\/5 * * * ? *)"
 * eventBridgeSchedule("0 9 * * 1-5")   // "cron(0 9 ? * 2-6 *)"
 * eventBridgeSchedule("@every 90m")    // "rate(90 minutes)"
 * @throws ScheduleConversionError
 */
export function eventBridgeSchedule(schedule: string): string {
  const fail = (reason: string) => new ScheduleConversionError(schedule, reason);
  let rest = schedule.trim();
  const zone = /^(?:CRON_TZ|TZ)=(\S+)\s*(.*)$/.exec(rest);
  if (zone) {
    if (!["UTC", "Etc/UTC", "GMT", "Etc/GMT"].includes(zone[1]!)) throw fail(`EventBridge rules run in UTC; write the schedule in UTC instead of ${zone[1]}`);
    rest = zone[2]!.trim();
  }
  if (rest.startsWith("@every")) return rateExpression(rest.slice("@every".length).trim(), fail);
  if (rest.startsWith("@")) {
    const expression = descriptorExpressions[rest];
    if (!expression) throw fail(`unknown descriptor ${rest}`);
    return expression;
  }
  const fields = rest.split(/\s+/);
  if (fields.length === 6) {
    if (!/^0+$/.test(fields[0]!)) throw fail("EventBridge schedules have minute precision; the seconds field must be 0");
    fields.shift();
  }
  if (fields.length !== 5) throw fail("expected five cron fields");
  const [minute, hour, dayOfMonth, month, dayOfWeek] = fields as [string, string, string, string, string];
  const anyDay = (field: string) => field === "*" || field === "?";
  if (!anyDay(dayOfMonth) && !anyDay(dayOfWeek)) {
    throw fail("EventBridge cannot restrict both the day of the month and the day of the week; make one of them *");
  }
  const days = anyDay(dayOfWeek) ? [dayOfMonth === "?" ? "*" : dayOfMonth, "?"] : ["?", eventBridgeWeekdays(dayOfWeek, fail)];
  return `cron(${minute} ${hour} ${days[0]} ${month} ${days[1]} *)`;
}

/** `@every 90m` → `rate(90 minutes)`: whole minutes, hours or days only. */
function rateExpression(duration: string, fail: (reason: string) => Error): string {
  const parts = [...duration.matchAll(/(\d+)(h|m|s|ms|us|µs|ns)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== duration) throw fail(`cannot read the duration "${duration}"`);
  const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  const ms = parts.reduce((sum, [, value, unit]) => sum + Number(value) * unitMs[unit!]!, 0);
  const minutes = ms / 60_000;
  if (!Number.isInteger(minutes) || minutes < 1) throw fail("EventBridge rates are whole minutes, at least one");
  const [value, unit] = minutes % 1440 === 0 ? [minutes / 1440, "day"] : minutes % 60 === 0 ? [minutes / 60, "hour"] : [minutes, "minute"];
  return `rate(${value} ${unit}${value === 1 ? "" : "s"})`;
}

/**
 * The day-of-week field with Sunday as 1 (cron counts Sunday as 0 or 7). Numbers shift by one;
 * names stay; a range ending in 7 (Sunday) is split, since EventBridge's week ends on Saturday.
 */
function eventBridgeWeekdays(field: string, fail: (reason: string) => Error): string {
  return field
    .split(",")
    .flatMap((part) => {
      const match = /^(\d+)(?:-(\d+))?(\/\d+|#\d+|L)?$/.exec(part);
      if (!match) return [part];
      const [, from, to, suffix = ""] = match;
      const day = (value: string) => (Number(value) % 7) + 1;
      if (to === undefined) return [`${day(from!)}${suffix}`];
      if (Number(to) === 7 && suffix) throw fail(`write the day-of-week range "${part}" without 7 (EventBridge's week ends on Saturday)`);
      if (Number(to) === 7) return Number(from) > 0 ? [`${day(from!)}-7`, "1"] : ["1-7"];
      return [`${day(from!)}-${day(to)}${suffix}`];
    })
    .join(",");
}

