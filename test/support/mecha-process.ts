/**
 * The `mecha` CLI as tests run it: real processes in an app folder, colors off, tracked so that
 * none outlives its test (servers) or its file (everything).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { waitFor } from "./wait.ts";

const bin = join(resolve(import.meta.dirname, "../.."), "bin/mecha.js");

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<Finished>;
}

const children = new Set<ChildProcess>();
const servers = new Set<ChildProcess>();
const suiteOwned = new WeakSet<ChildProcess>();

/**
 * Spawns `node bin/mecha.js ...args` in `cwd`.
 * @param server a process that runs until stopped: {@link stopServers} stops it after its test
 */
export function spawnMecha(cwd: string, args: readonly string[], { server = false } = {}): Running {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  if (server) servers.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<Finished>((done) =>
    child.once("close", (code, signal) => {
      children.delete(child);
      servers.delete(child);
      done({ code, signal, stdout, stderr });
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** A server started with `--json`, once its summary line (`"msg":"mecha started"`) is out. */
export async function startMechaServer<S extends { msg?: string }>(
  cwd: string,
  args: readonly string[],
  options: { what: string; timeoutMs: number },
): Promise<Running & { summary: S }> {
  const running = spawnMecha(cwd, args, { server: true });
  const started = waitFor(
    () =>
      running
        .stdout()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as S)
        .find((line) => line.msg === "mecha started"),
    { timeoutMs: options.timeoutMs, what: options.what },
  );
  const failed = running.exited.then((result) => {
    throw new Error(`${options.what}: the process exited with ${result.code}: ${result.stderr}`);
  });
  const summary = await Promise.race([started, failed]);
  failed.catch(() => undefined);
  return { ...running, summary };
}

/** Keeps a server running past its test, for a suite that shares it (stop it in afterAll). */
export function ownBySuite(child: ChildProcess): void {
  suiteOwned.add(child);
}

/** SIGTERM, then SIGKILL if the process is still there after a few seconds. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise((done) => child.once("close", done));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await closed;
  clearTimeout(timer);
}

/** For afterEach: the servers a test started, unless a suite owns them. One-shot commands of concurrent tests are left alone. */
export async function stopServers(): Promise<void> {
  await Promise.all([...servers].filter((child) => !suiteOwned.has(child)).map(stop));
}

/** For afterAll: every process still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stop));
}
