/**
 * `mecha dev --target workers`: builds the app as a Cloudflare Worker and runs it in Miniflare
 * (workerd) with local Durable Objects, KV, R2 and Queues, kept under `--persist`. A change in
 * the functions or the resources folder rebuilds it and swaps the script in place, so local
 * state survives; a build that fails leaves the previous Worker serving.
 *
 * Each build runs in a fresh process (dev-workers-build.ts).
 */
import type { ChildProcess } from "node:child_process";
import { copyFile, mkdir, readFile, rm } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { parseEnv } from "node:util";
import type { Miniflare, MiniflareOptions } from "miniflare";
import type { WorkersBuildRequest } from "../../build/workers/build.ts";
import { defaults, expectPositionals, parseCommand, parsePort, sharedOptions, type ParsedValues } from "../args.ts";
import type { CommandOutcome, CommandRun } from "../command.ts";
import { CliError } from "../errors.ts";
import type { CliIo, Output } from "../output.ts";
import { formatUsage, type UsageText } from "../usage.ts";
import { displayPath } from "../paths.ts";
import { ChangeBursts, watchFolder } from "../watch.ts";
import { buildInProcess, type BuildOutcome, type DevBuild } from "./dev-workers-build.ts";

/** Where dev keeps its build (`dist/`, a copy of wrangler.toml) and, by default, local state. */
const workDir = ".mecha/workers";
const defaultPort = 8787;
/** The project files that shape the Worker besides the two folders. */
const projectFiles = ["wrangler.toml", ".dev.vars"] as const;

const devWorkersOptionSpecs = {
  target: { type: "string", short: "t", placeholder: "platform", description: "node, or workers to run the app in Miniflare", defaultValue: "node" },
  resources: { ...sharedOptions.resources, description: "resources folder with the Cloudflare component YAML", defaultValue: defaults.workersResources },
  functions: sharedOptions.functions,
  port: { ...sharedOptions.port, description: "HTTP port; 0 picks a free one", defaultValue: defaultPort },
  host: { ...sharedOptions.host, description: "interface to listen on" },
  "app-id": { ...sharedOptions["app-id"], description: "app id: subscription and queue names, state key prefix" },
  persist: { type: "string", placeholder: "dir", description: "where Durable Objects, KV, R2 and the cache keep their data between runs", defaultValue: workDir },
  json: { ...sharedOptions.json, description: "print the summary as one JSON line" },
  help: sharedOptions.help,
} as const;

const usage: UsageText = {
  synopsis: "mecha dev --target workers [options]",
  description:
    `Builds the app as a Cloudflare Worker into ${workDir}/dist (wrangler.toml is read, never\n` +
    "written) and runs it in Miniflare with local Durable Objects, KV, R2 and Queues. A change in\n" +
    "the functions or the resources folder, wrangler.toml or .dev.vars rebuilds it and reloads it\n" +
    "in place, keeping local state; a build that fails leaves the previous Worker serving. Vars come\n" +
    "from wrangler.toml's [vars] and from .dev.vars (KEY=value lines), where local secrets go.",
  options: devWorkersOptionSpecs,
  examples: ["mecha dev --target workers", "mecha dev --target workers --port 0 --json", "mecha dev --target workers --persist /tmp/state"],
};

/** `mecha dev --target workers`, its options resolved. */
interface DevWorkersOptions {
  resources: string;
  functions: string;
  port: number;
  host: string;
  appId: string;
  /** Absolute. */
  persist: string;
  json: boolean;
}

/** Runs `mecha dev --target workers` (`mecha dev` hands over to it): serves until SIGINT/SIGTERM. */
export async function run({ argv, io, output }: CommandRun): Promise<CommandOutcome> {
  const { values, positionals } = parseCommand("dev --target workers", argv, devWorkersOptionSpecs);
  if (values.help) {
    output.line(formatUsage(usage, output.color));
    return 0;
  }
  expectPositionals("dev --target workers", positionals, []);
  const options = readOptions(values, io);
  const session = new DevSession(options, await loadMiniflare(), io, output);
  const watchers = [
    ...[options.functions, options.resources].map((folder) => {
      const shown = displayPath(io, resolve(io.cwd, folder));
      return watchFolder(resolve(io.cwd, folder), (file) => session.changed(`${shown}/${file}`));
    }),
    watchFolder(io.cwd, (file) => (projectFiles as readonly string[]).includes(file) && session.changed(file), { recursive: false }),
  ];
  const closeWatchers = () => watchers.forEach((watcher) => watcher.close());
  const shutdown = () => {
    closeWatchers();
    session.stop().then((code) => process.exit(code));
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  try {
    await session.start();
  } catch (error) {
    process.off("SIGINT", shutdown).off("SIGTERM", shutdown);
    closeWatchers();
    await session.stop();
    throw error;
  }
  return "running";
}

function readOptions(values: ParsedValues<typeof devWorkersOptionSpecs>, io: CliIo): DevWorkersOptions {
  return {
    resources: values.resources ?? defaults.workersResources,
    functions: values.functions ?? defaults.functions,
    port: parsePort(values.port, defaultPort),
    host: values.host ?? defaults.host,
    appId: values["app-id"] ?? defaults.appId,
    persist: resolve(io.cwd, values.persist ?? workDir),
    json: values.json ?? false,
  };
}

type MiniflareModule = typeof import("miniflare");

/** Miniflare is wrangler's local runtime; an app that deploys with wrangler has it. */
async function loadMiniflare(): Promise<MiniflareModule> {
  try {
    return await import("miniflare");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw cause;
    throw new CliError("mecha dev --target workers runs the Worker in Miniflare, which is not installed", {
      cause,
      hint: "npm install --save-dev wrangler (it brings miniflare), or npm install --save-dev miniflare",
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The build, in a process of its own.

/** A build as it crosses back from its process: plain data (the App itself cannot cross). */
// ---------------------------------------------------------------------------------------------
// The session: one Miniflare, rebuilt and reloaded one change burst at a time.

class DevSession {
  #mf: Miniflare | undefined;
  /** The options the running Worker was started with, to fall back to. */
  #running: MiniflareOptions | undefined;
  #build: DevBuild | undefined;
  #builder: ChildProcess | undefined;
  #queue: Promise<void> = Promise.resolve();
  readonly #bursts = new ChangeBursts((files) => {
    this.#queue = this.#queue.then(() => this.#update(files)).catch((error: unknown) => this.#error((error as Error).message));
  });
  #stopping = false;
  /** Whether the project has a wrangler.toml (else the build makes one up). */
  #hasConfig = false;

  readonly #options: DevWorkersOptions;
  readonly #miniflare: MiniflareModule;
  readonly #io: CliIo;
  readonly #output: Output;

  constructor(options: DevWorkersOptions, miniflare: MiniflareModule, io: CliIo, output: Output) {
    this.#options = options;
    this.#miniflare = miniflare;
    this.#io = io;
    this.#output = output;
  }

  /** The first build; Miniflare starts once a build succeeds. Throws when Miniflare cannot start. */
  start(): Promise<void> {
    this.#queue = this.#queue.then(() => this.#update([]));
    return this.#queue;
  }

  /** A file changed: rebuild once the burst of changes is over. */
  changed(file: string): void {
    if (this.#stopping) return;
    this.#bursts.add(file);
  }

  /** Stops building and disposes Miniflare; a second call (a second Ctrl-C) gives up waiting. */
  async stop(): Promise<number> {
    if (this.#stopping) process.exit(130);
    this.#stopping = true;
    this.#bursts.cancel();
    this.#builder?.kill("SIGKILL");
    await this.#queue.catch(() => undefined);
    await this.#mf?.dispose();
    return 0;
  }

  async #update(files: readonly string[]): Promise<void> {
    if (this.#stopping) return;
    const began = Date.now();
    const outcome = await this.#buildOnce();
    if (this.#stopping) return;
    if (!outcome.ok) {
      this.#error(outcome.message);
      this.#say(this.#mf ? "the build failed; the previous Worker keeps serving" : "the build failed; waiting for a change");
      return;
    }
    const { build } = outcome;
    const options = await this.#miniflareOptions(build);
    for (const warning of build.cloudflare.warnings.filter((w) => !this.#build?.cloudflare.warnings.includes(w))) {
      this.#output.notice(`${this.#output.errorColor.yellow("warning:")} ${warning}`);
    }
    const previous = this.#build;
    if (!this.#mf) {
      await this.#startMiniflare(options);
    } else {
      try {
        await this.#mf.setOptions(options);
      } catch (error) {
        this.#error(`the new Worker did not start: ${(error as Error).message}`);
        await this.#mf.setOptions(this.#running!).then(
          () => this.#say("the previous Worker keeps serving"),
          () => this.#say("the previous Worker could not be restarted either; waiting for a change"),
        );
        return;
      }
    }
    this.#running = options;
    this.#build = build;
    if (!previous) this.#printSummary(build, (await this.#mf!.ready).origin);
    else this.#say(`${describeChanges(files)}; reloaded in ${Date.now() - began} ms${describeRoutes(previous, build)}`);
  }

  async #buildOnce(): Promise<BuildOutcome> {
    const { io, options } = { io: this.#io, options: this.#options };
    const config = join(io.cwd, workDir, "wrangler.toml");
    await mkdir(join(io.cwd, workDir), { recursive: true });
    // The build writes its bindings into the config: into a copy, never into the user's file.
    this.#hasConfig = await copyFile(join(io.cwd, "wrangler.toml"), config).then(
      () => true,
      async (error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
        await rm(config, { force: true });
        return false;
      },
    );
    const request: WorkersBuildRequest = {
      projectDir: io.cwd,
      resources: options.resources,
      functions: options.functions,
      appId: options.appId,
      out: join(io.cwd, workDir, "dist"),
      config,
      env: Object.fromEntries(Object.entries(io.env)),
    };
    try {
      return await buildInProcess(request, (child) => (this.#builder = child));
    } finally {
      this.#builder = undefined;
    }
  }

  async #miniflareOptions(build: DevBuild): Promise<MiniflareOptions> {
    const { miniflareWorkerOptions } = await import("../../build/workers/miniflare-options.ts");
    const { supportedCompatibilityDate } = this.#miniflare;
    const wanted = build.compatibilityDate;
    if (wanted && wanted > supportedCompatibilityDate && this.#hasConfig && !this.#build) {
      this.#say(`wrangler.toml's compatibility_date ${wanted} is newer than this Miniflare supports; running with ${supportedCompatibilityDate}`);
    }
    const worker = miniflareWorkerOptions(build, {
      vars: { ...build.vars, ...(await readDevVars(this.#io.cwd)) },
      compatibilityDate: wanted && wanted < supportedCompatibilityDate ? wanted : supportedCompatibilityDate,
      ...(build.compatibilityFlags ? { compatibilityFlags: build.compatibilityFlags } : {}),
    });
    return {
      ...worker,
      // The script in memory: a reload that fails can fall back to it after index.js changed.
      script: await readFile(build.bundle.file, "utf8"),
      scriptPath: build.bundle.file,
      host: this.#options.host,
      port: this.#options.port,
      defaultPersistRoot: this.#options.persist,
      // `/cdn-cgi/handler/scheduled?cron=…` runs a Cron Trigger by hand.
      unsafeTriggerHandlers: true,
    };
  }

  async #startMiniflare(options: MiniflareOptions): Promise<void> {
    const mf = withoutSignalHooks(() => new this.#miniflare.Miniflare(options));
    try {
      await mf.ready;
    } catch (cause) {
      await mf.dispose().catch(() => undefined);
      const { host, port } = this.#options;
      const message = /address already in use/i.test((cause as Error).message)
        ? `port ${port} on ${host} is already in use; stop the other process or pick another with --port`
        : `Miniflare could not start on ${host}:${port}: ${(cause as Error).message}`;
      throw new CliError(message, { cause });
    }
    this.#mf = mf;
  }

  #printSummary(build: DevBuild, url: string): void {
    const { cloudflare } = build;
    const bindings = [
      ...cloudflare.durableObjects.map((b) => ({ binding: b.binding, kind: "durable-object", target: b.className, components: b.components })),
      ...cloudflare.kvNamespaces.map((b) => ({ binding: b.binding, kind: "kv-namespace", target: b.id, components: b.components })),
      ...cloudflare.r2Buckets.map((b) => ({ binding: b.binding, kind: "r2-bucket", target: b.bucketName, components: b.components })),
    ];
    const persist = displayPath(this.#io, this.#options.persist);
    if (this.#options.json) {
      this.#output.json({
        time: new Date().toISOString(),
        level: "info",
        msg: "mecha started",
        target: "workers",
        appId: this.#options.appId,
        url,
        routes: build.routes,
        queues: cloudflare.queues.map(({ producerBinding, ...queue }) => ({ ...queue, binding: producerBinding })),
        bindings,
        crons: cloudflare.crons,
        persist,
        warnings: cloudflare.warnings,
      });
      return;
    }
    const { bold, cyan, dim, green, underline } = this.#output.color;
    const lines = [`${green("●")} ${bold(this.#options.appId)} on Workers (Miniflare) listening on ${cyan(underline(url))}`];
    const section = (title: string, rows: Array<[string, string]>) => {
      if (!rows.length) return;
      const width = Math.max(...rows.map(([left]) => left.length));
      lines.push("", bold(title), ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`));
    };
    section("HTTP routes", build.routes.map((r) => [`${r.method.padEnd(6)} ${r.path}`, `${dim("→")} ${r.function}`]));
    section(
      "Queues",
      cloudflare.queues.map((q) => [
        q.queue,
        `${q.pubsub}/${q.topic} ${dim(`→ ${q.subscription} (batch ${q.maxBatchSize}/${q.maxBatchTimeoutSeconds} s, retries ${q.maxRetries}, then ${q.deadLetterQueue})`)}`,
      ]),
    );
    section("Bindings", bindings.map((b) => [b.binding, `${b.kind} ${b.target} ${dim(`(${b.components.join(", ")})`)}`]));
    section("Cron Triggers", cloudflare.crons.map((c) => [c.schedule, c.functions.join(", ")]));
    if (cloudflare.crons.length) {
      lines.push(dim(`  run one: curl "${url}/cdn-cgi/handler/scheduled?cron=${cloudflare.crons[0]!.schedule.replaceAll(" ", "+")}"`));
    }
    const folders = [this.#options.functions, this.#options.resources].join(" and ");
    lines.push("", dim(`Local state in ${persist}. Watching ${folders}; press Ctrl-C to stop.`));
    this.#output.line(lines.join("\n"));
  }

  #say(text: string): void {
    this.#output.notice(this.#output.errorColor.magenta(`[mecha dev] ${text}`));
  }

  #error(message: string): void {
    const { bold, red } = this.#output.errorColor;
    this.#output.notice(`${red(bold("error:"))} ${message}`);
  }
}

/**
 * Creates a Miniflare without the SIGINT/SIGTERM listeners of its exit hook, which exit with
 * code 130/143 at once: dev disposes Miniflare itself and exits 0. The hook's "exit" listener
 * stays, so workerd goes with the process whatever ends it.
 */
function withoutSignalHooks<T>(create: () => T): T {
  const signals = ["SIGINT", "SIGTERM"] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const created = create();
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.off(signal, listener);
  }
  return created;
}

/** `.dev.vars`: wrangler's local vars and secrets, `KEY=value` lines (dotenv syntax). */
async function readDevVars(projectDir: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(join(projectDir, ".dev.vars"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  return Object.fromEntries(Object.entries(parseEnv(text)).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function describeChanges(files: readonly string[]): string {
  return files.length === 1 ? `${files[0]} changed` : `${files.length} files changed`;
}

/** ` (+GET /added, -GET /gone)` when the routes changed. */
function describeRoutes(before: DevBuild, after: DevBuild): string {
  const key = (r: DevBuild["routes"][number]) => `${r.method} ${r.path}`;
  const [was, now] = [new Set(before.routes.map(key)), new Set(after.routes.map(key))];
  const changes = [...[...now].filter((r) => !was.has(r)).map((r) => `+${r}`), ...[...was].filter((r) => !now.has(r)).map((r) => `-${r}`)];
  return changes.length ? ` (${changes.join(", ")})` : "";
}
