/**
 * The Worker's bindings in wrangler.toml. The build owns a few sections — it derives them from
 * the app every time — and keeps everything else the user wrote (name, compatibility date,
 * vars, routes …). Owned: `main`, `no_bundle`, `[[durable_objects.bindings]]`,
 * `[[kv_namespaces]]`, `[[r2_buckets]]`, `[[queues.producers]]`, `[[queues.consumers]]` and
 * `[triggers]`. `[[migrations]]` is append-only (Cloudflare replays it), and `nodejs_compat` is
 * added to `compatibility_flags` when missing.
 */
import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { parse, stringify } from "smol-toml";
import { PlatformConfigError } from "../errors.ts";
import type { WorkersResources } from "./cloudflare-resources.ts";

type Table = Record<string, unknown>;

/** The top-level keys the build rewrites, in the order it writes them. */
export const ownedKeys = ["main", "no_bundle", "durable_objects", "kv_namespaces", "r2_buckets", "queues", "triggers"] as const;

const header = [
  "# The Cloudflare Worker. `mecha build --target workers` rewrites main, no_bundle and the",
  "# sections it derives from the app — durable_objects, kv_namespaces, r2_buckets, queues and",
  "# triggers — adds [[migrations]] and the nodejs_compat flag when needed, and keeps every other",
  "# key. Comments other than this header are not kept.",
  "",
].join("\n");

/** What the build writes into wrangler.toml. */
export interface WranglerConfigRequest {
  /** `main`, relative to the config file's folder. */
  main: string;
  /** The Worker's name when the file does not exist yet. */
  appId: string;
  resources: WorkersResources;
}

/** One section that differs between the file and what the build would write. */
export interface ConfigDifference {
  key: string;
  change: "added" | "removed" | "changed";
  /** For a scalar, the values: `"old" → "new"`. */
  detail?: string;
}

/** wrangler.toml as it is: its parsed content and text, or nothing when there is no file. */
export async function readWranglerConfig(path: string): Promise<{ text: string; config: Table } | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    return { text, config: parse(text) as Table };
  } catch (cause) {
    throw new PlatformConfigError(`${basename(path)} is not valid TOML: ${(cause as Error).message.split("\n")[0]}`, cause);
  }
}

/**
 * The config the build would write: the user's keys as they are, the owned sections derived
 * from the app, migrations appended.
 */
export function mergeWranglerConfig(existing: Table | undefined, request: WranglerConfigRequest): Table {
  const config: Table = {};
  const generated = ownedSections(request);
  const current = existing ?? newConfig(request.appId);
  // Keys keep their place in the file; an owned key takes its new value there (or is dropped).
  for (const [key, value] of Object.entries(current)) {
    if (!(ownedKeys as readonly string[]).includes(key)) config[key] = value;
    else if (generated[key as (typeof ownedKeys)[number]] !== undefined) config[key] = generated[key as (typeof ownedKeys)[number]];
  }
  const flags = Array.isArray(config["compatibility_flags"]) ? (config["compatibility_flags"] as unknown[]) : [];
  // cloudevents needs Node's util, events and http (DESIGN §9); workerd provides them with it.
  if (!flags.includes("nodejs_compat") && !flags.includes("nodejs_compat_v2")) config["compatibility_flags"] = [...flags, "nodejs_compat"];
  const migrations = appendMigrations(config["migrations"], request.resources);
  if (migrations.length) config["migrations"] = migrations;
  for (const key of ownedKeys) if (generated[key] !== undefined) config[key] = generated[key];
  return config;
}

/** The TOML text of a config, with the header that says what the build rewrites. */
export function formatWranglerConfig(config: Table): string {
  return `${header}${stringify(config)}\n`;
}

/** What differs between the file's config and the one the build would write, section by section. */
export function diffWranglerConfig(actual: Table, expected: Table): ConfigDifference[] {
  const differences: ConfigDifference[] = [];
  for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    const [was, will] = [actual[key], expected[key]];
    if (canonical(was) === canonical(will)) continue;
    const change = was === undefined ? "added" : will === undefined ? "removed" : "changed";
    const scalar = (v: unknown) => v === undefined || typeof v !== "object";
    differences.push({ key, change, ...(scalar(was) && scalar(will) ? { detail: `${JSON.stringify(was) ?? "(none)"} → ${JSON.stringify(will) ?? "(none)"}` } : {}) });
  }
  return differences;
}

/**
 * Writes the merged config unless the file already says the same.
 * @returns whether the file changed
 */
export async function writeWranglerConfig(path: string, request: WranglerConfigRequest): Promise<{ changed: boolean; config: Table }> {
  const current = await readWranglerConfig(path);
  const config = mergeWranglerConfig(current?.config, request);
  const text = formatWranglerConfig(config);
  if (current?.text === text) return { changed: false, config };
  await writeFile(path, text);
  return { changed: true, config };
}

function ownedSections({ main, resources }: WranglerConfigRequest): Partial<Record<(typeof ownedKeys)[number], unknown>> {
  const some = <T>(items: T[]) => (items.length ? items : undefined);
  return {
    main,
    // The bundle is final (and what the size benchmark measures): wrangler uploads it as it is.
    no_bundle: true,
    durable_objects: resources.durableObjects.length
      ? { bindings: resources.durableObjects.map((b) => ({ name: b.binding, class_name: b.className })) }
      : undefined,
    kv_namespaces: some(resources.kvNamespaces.map((b) => ({ binding: b.binding, id: b.id }))),
    r2_buckets: some(resources.r2Buckets.map((b) => ({ binding: b.binding, bucket_name: b.bucketName }))),
    queues: resources.queues.length
      ? {
          producers: resources.queues.map((q) => ({ queue: q.queue, binding: q.producerBinding })),
          consumers: resources.queues.map((q) => ({
            queue: q.queue,
            max_batch_size: q.maxBatchSize,
            max_batch_timeout: q.maxBatchTimeoutSeconds,
            max_retries: q.maxRetries,
            dead_letter_queue: q.deadLetterQueue,
          })),
        }
      : undefined,
    // Always written, even empty: `crons = []` is how a deploy removes schedules the code dropped.
    triggers: { crons: resources.crons.map((c) => c.schedule) },
  };
}

/**
 * The existing migrations, plus one that creates each Durable Object class no migration has
 * created yet. Earlier migrations are never changed: Cloudflare applies them by tag, in order.
 */
function appendMigrations(existing: unknown, resources: WorkersResources): Table[] {
  const migrations = Array.isArray(existing) ? (existing as Table[]) : [];
  const created = new Set(migrations.flatMap((m) => [...asStrings(m["new_sqlite_classes"]), ...asStrings(m["new_classes"])]));
  const missing = [...new Set(resources.durableObjects.map((b) => b.className))].filter((c) => !created.has(c));
  if (!missing.length) return migrations;
  const tags = new Set(migrations.map((m) => m["tag"]));
  let n = migrations.length + 1;
  while (tags.has(`v${n}`)) n++;
  // SQLite-backed: the state object uses the SQL storage API.
  return [...migrations, { tag: `v${n}`, new_sqlite_classes: missing }];
}

function newConfig(appId: string): Table {
  return {
    name: appId.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || "mecha-app",
    compatibility_date: new Date().toISOString().slice(0, 10),
    compatibility_flags: ["nodejs_compat"],
  };
}

const asStrings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []);

/** A value as JSON with sorted object keys, so that key order does not count as a difference. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Table).sort(([a], [b]) => a.localeCompare(b))) : v,
  ) ?? "undefined";
}
