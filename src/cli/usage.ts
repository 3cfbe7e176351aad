/** Help text for commands, built from their option specs so that help and parsing never drift. */
import type { OptionSpecs } from "./args.ts";
import type { Colors } from "./output.ts";

export interface UsageText {
  /** `mecha publish <pubsub> <topic> <data> [options]` */
  synopsis: string | readonly string[];
  /** What the command does, in a sentence or two. */
  description: string;
  /** Argument placeholders and what they mean. */
  arguments?: ReadonlyArray<readonly [string, string]>;
  options?: OptionSpecs;
  examples?: readonly string[];
}

export function formatUsage(usage: UsageText, color: Colors): string {
  const synopses = typeof usage.synopsis === "string" ? [usage.synopsis] : usage.synopsis;
  const lines = [`${color.bold("Usage:")} ${synopses[0]}`, ...synopses.slice(1).map((s) => `       ${s}`), "", usage.description];
  if (usage.arguments?.length) {
    lines.push("", color.bold("Arguments:"), ...table(usage.arguments.map(([name, text]) => [name, text]), color));
  }
  if (usage.options && Object.keys(usage.options).length) {
    const rows = Object.entries(usage.options).map(([name, spec]): [string, string] => {
      const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.placeholder ? ` <${spec.placeholder}>` : ""}`;
      const text = `${spec.description}${spec.multiple ? " (repeatable)" : ""}${spec.defaultValue !== undefined ? color.dim(` (default: ${spec.defaultValue})`) : ""}`;
      return [flag, text];
    });
    lines.push("", color.bold("Options:"), ...table(rows, color));
  }
  if (usage.examples?.length) {
    lines.push("", color.bold("Examples:"), ...usage.examples.map((example) => `  ${example}`));
  }
  return lines.join("\n");
}

function table(rows: ReadonlyArray<readonly [string, string]>, color: Colors): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${color.cyan(left.padEnd(width))}  ${right}`);
}
