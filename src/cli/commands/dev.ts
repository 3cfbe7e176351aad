/**
 * `mecha dev`: `mecha start` in a child process, restarted when a file in the functions or the
 * resources folder changes. The child runs in its own process group, so Ctrl-C reaches it once —
 * forwarded by dev — and it shuts down gracefully before the next start.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { expectPositionals, helpHint, parseCommand } from "../args.ts";
import type { CommandOutcome, CommandRun } from "../command.ts";
import { UsageError } from "../errors.ts";
import { hostOptionSpecs, readHostOptions, toStartArguments } from "../host-options.ts";
import type { Output } from "../output.ts";
import { formatUsage, type UsageText } from "../usage.ts";
import { ChangeBursts, watchFolder } from "../watch.ts";

/** How long a child may take to stop before it is killed (the host itself waits up to 10 s). */
const stopTimeoutMs = 15_000;
const binScript = fileURLToPath(new URL("../../../bin/mecha.js", import.meta.url));

const targets = ["node", "workers"] as const;

const devOptionSpecs = {
  target: {
    type: "string",
    short: "t",
    placeholder: "platform",
    description: "node, or workers to run the app in Miniflare (see mecha dev --target workers --help)",
    defaultValue: "node",
  },
  ...hostOptionSpecs,
} as const;

const usage: UsageText = {
  synopsis: ["mecha dev [options]", "mecha dev --target workers [options]"],
  description:
    "Runs the app like \"mecha start\" and restarts it when a file in the functions or the\n" +
    "resources folder changes. Takes the same options as \"mecha start\". With --target workers\n" +
    "it builds the app as a Cloudflare Worker and runs it in Miniflare instead.",
  options: devOptionSpecs,
  examples: ["mecha dev", "mecha dev --port 8080 --log-level debug", "mecha dev --target workers"],
};

export async function run({ argv, io, output }: CommandRun): Promise<CommandOutcome> {
  // Each target has its own options, so the target is read before the strict parse.
  if (readTarget(argv) === "workers") return (await import("./dev-workers.ts")).run({ argv, io, output });
  const { values, positionals } = parseCommand("dev", argv, devOptionSpecs);
  if (values.help) {
    output.line(formatUsage(usage, output.color));
    return 0;
  }
  expectPositionals("dev", positionals, []);
  const options = readHostOptions(values);
  const folders = [options.functions, options.resources].map((folder) => resolve(io.cwd, folder));
  const supervisor = new Supervisor(toStartArguments(options), io.cwd, io.env, output);
  const watchers = folders.map((folder) => watchFolder(folder, (file) => supervisor.changed(file)));
  const shutdown = (signal: NodeJS.Signals) => {
    for (const watcher of watchers) watcher.close();
    supervisor.stop(signal).then((code) => process.exit(code));
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  // Whatever ends this process, the child does not outlive it.
  process.on("exit", () => supervisor.kill());
  supervisor.start();
  return "running";
}

/** `--target`, from a lenient parse: the other options are the target's to check. */
function readTarget(argv: readonly string[]): (typeof targets)[number] {
  const { values } = parseArgs({ args: [...argv], options: { target: { type: "string", short: "t" } }, strict: false, allowPositionals: true });
  const target = values.target;
  if (target === undefined || target === true) return "node";
  if (!(targets as readonly unknown[]).includes(target)) {
    throw new UsageError(`--target must be ${targets.join(" or ")}, got "${String(target)}"`, helpHint("dev"));
  }
  return target as (typeof targets)[number];
}

/** Starts, restarts and stops the `mecha start` child, one transition at a time. */
class Supervisor {
  #child: ChildProcess | undefined;
  #exited: Promise<number> = Promise.resolve(0);
  #queue: Promise<void> = Promise.resolve();
  readonly #bursts = new ChangeBursts((files) => (this.#queue = this.#queue.then(() => this.#restart(files))));
  #stopping = false;
  #restarting = false;

  readonly #args: readonly string[];
  readonly #cwd: string;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #output: Output;

  constructor(args: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>, output: Output) {
    this.#args = args;
    this.#cwd = cwd;
    this.#env = env;
    this.#output = output;
  }

  start(): void {
    const child = spawn(process.execPath, [binScript, ...this.#args], {
      cwd: this.#cwd,
      env: this.#env as NodeJS.ProcessEnv,
      stdio: ["ignore", "inherit", "inherit"],
      detached: true,
    });
    this.#child = child;
    this.#exited = new Promise((done) => {
      child.once("exit", (code, signal) => {
        if (!this.#stopping && !this.#restarting) {
          const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          this.#say(`the app ${how}; waiting for a change to restart`);
        }
        done(code ?? 1);
      });
      child.once("error", (error) => {
        this.#say(`could not start the app: ${error.message}`);
        done(1);
      });
    });
  }

  /** A file changed: restart once the burst of changes is over. */
  changed(file: string): void {
    if (this.#stopping) return;
    this.#bursts.add(file);
  }

  async #restart(files: readonly string[]): Promise<void> {
    if (this.#stopping) return;
    this.#say(`${files.length === 1 ? files[0] : `${files.length} files`} changed; restarting`);
    this.#restarting = true;
    await this.#stopChild("SIGTERM");
    this.#restarting = false;
    if (!this.#stopping) this.start();
  }

  /** Forwards the signal, waits for the child, and returns the exit code for dev. */
  async stop(signal: NodeJS.Signals): Promise<number> {
    if (this.#stopping) {
      // A second signal: the child's own second-signal path exits at once.
      this.#child?.kill(signal);
      return 130;
    }
    this.#stopping = true;
    this.#bursts.cancel();
    await this.#queue;
    await this.#stopChild(signal);
    return 0;
  }

  /** Kills the child now, synchronously (for process exit). */
  kill(): void {
    if (this.#running()) this.#child!.kill("SIGKILL");
  }

  async #stopChild(signal: NodeJS.Signals): Promise<void> {
    if (!this.#running()) return;
    this.#child!.kill(signal);
    const timer = setTimeout(() => this.#child?.kill("SIGKILL"), stopTimeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }

  #running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  #say(text: string): void {
    this.#output.notice(this.#output.errorColor.magenta(`[mecha dev] ${text}`));
  }
}
