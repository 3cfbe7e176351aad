/** Small factories for the app folders that e2e tests write: component YAML and the folder itself. */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../..");

/** A Dapr Component document with plain string metadata values. */
export function componentYaml(name: string, type: string, metadata: Record<string, string> = {}): string {
  return [
    "apiVersion: dapr.io/v1alpha1",
    "kind: Component",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    `  type: ${type}`,
    "  version: v1",
    Object.keys(metadata).length ? "  metadata:" : "  metadata: []",
    ...Object.entries(metadata).flatMap(([key, value]) => [`    - name: ${key}`, `      value: "${value}"`]),
    "",
  ].join("\n");
}

/**
 * A Dapr `dapr.io/v2alpha1` Subscription document: CEL routing rules (`[match, path]`, in order), a
 * default route and a dead-letter topic, each when given.
 */
export function subscriptionYaml(
  name: string,
  spec: { pubsub: string; topic: string; rules?: ReadonlyArray<readonly [match: string, path: string]>; defaultRoute?: string; deadLetterTopic?: string },
): string {
  return [
    "apiVersion: dapr.io/v2alpha1",
    "kind: Subscription",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    `  pubsubname: ${spec.pubsub}`,
    `  topic: ${spec.topic}`,
    ...(spec.deadLetterTopic ? [`  deadLetterTopic: ${spec.deadLetterTopic}`] : []),
    "  routes:",
    ...(spec.rules?.length ? ["    rules:", ...spec.rules.flatMap(([match, path]) => [`      - match: ${JSON.stringify(match)}`, `        path: ${path}`])] : []),
    ...(spec.defaultRoute ? [`    default: ${spec.defaultRoute}`] : []),
    "",
  ].join("\n");
}

/**
 * A fresh app folder as a user would have it: package.json (ESM), `node_modules/mecha` linked to
 * this repo so `import … from "mecha"` resolves, and the given files (paths relative to it).
 */
export function createAppDir(prefix: string, files: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: prefix, private: true, type: "module" }));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(repo, join(dir, "node_modules/mecha"), "dir");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
