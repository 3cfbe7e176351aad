/**
 * What `mecha start` prints once the host is up: where it listens and what it runs — each HTTP
 * route, subscription, schedule and input binding with the function behind it.
 */
import type { App } from "../core/app.ts";
import type { Colors } from "./output.ts";

export interface HostSummary {
  appId: string;
  url: string;
  /** Where Dapr's HTTP API listens, when it is on. */
  daprApiUrl?: string;
  routes: Array<{ method: string; path: string; function: string }>;
  subscriptions: Array<{ pubsub: string; topic: string; name: string; deadLetterTopic?: string }>;
  schedules: Array<{ schedule: string; function: string }>;
  bindings: Array<{ binding: string; function: string }>;
}

export function summarize(app: App, url: string, daprApiUrl?: string): HostSummary {
  return {
    appId: app.appId,
    url,
    ...(daprApiUrl ? { daprApiUrl } : {}),
    routes: app.registry.http.map(({ id, definition }) => ({ method: definition.method, path: definition.path, function: id })),
    subscriptions: app.subscriptions.map((plan) => ({
      pubsub: plan.pubsub,
      topic: plan.topic,
      name: plan.name,
      ...(plan.deadLetterTopic ? { deadLetterTopic: plan.deadLetterTopic } : {}),
    })),
    schedules: app.registry.crons.map(({ id, definition }) => ({ schedule: definition.schedule, function: id })),
    bindings: app.registry.bindings.map(({ id, definition }) => ({ binding: definition.binding, function: id })),
  };
}

/** The summary as one JSON line, shaped like the JSON log lines around it. */
export function summaryRecord(summary: HostSummary): Record<string, unknown> {
  return { time: new Date().toISOString(), level: "info", msg: "mecha started", ...summary };
}

/** The summary for people. */
export function formatSummary(summary: HostSummary, color: Colors): string {
  const arrow = color.dim("→");
  const lines = [`${color.green("●")} ${color.bold(summary.appId)} listening on ${color.cyan(color.underline(summary.url))}`];
  if (summary.daprApiUrl) lines.push(`  Dapr HTTP API on ${color.cyan(color.underline(summary.daprApiUrl))}`);
  const section = (title: string, rows: Array<[string, string]>) => {
    if (!rows.length) return;
    const width = Math.max(...rows.map(([left]) => left.length));
    lines.push("", color.bold(title), ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${arrow} ${right}`));
  };
  section(
    "HTTP routes",
    summary.routes.map((r) => [`${r.method.padEnd(6)} ${r.path}`, r.function]),
  );
  section(
    "Subscriptions",
    summary.subscriptions.map((s) => [`${s.pubsub}/${s.topic}`, `${s.name}${s.deadLetterTopic ? color.dim(` (dead letters: ${s.deadLetterTopic})`) : ""}`]),
  );
  section(
    "Schedules",
    summary.schedules.map((s) => [s.schedule, s.function]),
  );
  section(
    "Input bindings",
    summary.bindings.map((b) => [b.binding, b.function]),
  );
  if (!summary.routes.length && !summary.subscriptions.length && !summary.schedules.length && !summary.bindings.length) {
    lines.push("", color.yellow("No functions found: export http(...), subscribe(...) or cron(...) from a file in the functions folder."));
  }
  lines.push("", color.dim("Press Ctrl-C to stop."));
  return lines.join("\n");
}
