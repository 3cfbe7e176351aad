/**
 * The builds of `mecha dev --target workers`, each in a fresh Node process: the build imports the
 * function modules to learn their routes, subscriptions and schedules, and a process never
 * forgets a module it has imported — an in-process rebuild would serve stale subscriptions.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Json } from "miniflare";
import type { WorkersBuildRequest } from "../../build/workers/build.ts";
import type { WorkersResources } from "../../build/workers/cloudflare-resources.ts";
import type { MiniflareBuild } from "../../build/workers/miniflare-options.ts";
import type { HostSummary } from "../summary.ts";

/** A finished build, as the dev session needs it. */
export interface DevBuild extends MiniflareBuild {
  cloudflare: Pick<WorkersResources, "durableObjects" | "kvNamespaces" | "r2Buckets" | "queues" | "crons" | "warnings">;
  routes: HostSummary["routes"];
  /** From the project's wrangler.toml, as the build merged it. */
  compatibilityDate: string | undefined;
  compatibilityFlags: string[] | undefined;
  vars: Record<string, Json>;
}

export type BuildOutcome = { ok: true; build: DevBuild } | { ok: false; message: string };

/**
 * The build process's side: takes a {@link WorkersBuildRequest} from its parent, builds once and
 * sends back a {@link BuildOutcome}.
 * @internal started by {@link buildInProcess}; not an API
 */
export async function runBuildProcess(): Promise<void> {
  const request = await new Promise<WorkersBuildRequest>((done) => process.once("message", done));
  const { buildWorkers } = await import("../../build/workers/build.ts");
  const { readWranglerConfig } = await import("../../build/workers/wrangler-config.ts");
  let outcome: BuildOutcome;
  try {
    const result = await buildWorkers(request);
    const config = (await readWranglerConfig(result.configPath))?.config ?? {};
    const { queues, durableObjects, kvNamespaces, r2Buckets, crons, warnings } = result.cloudflare;
    outcome = {
      ok: true,
      build: {
        bundle: { file: result.bundle.file },
        cloudflare: { queues, durableObjects, kvNamespaces, r2Buckets, crons, warnings },
        routes: result.loaded.app.registry.http.map(({ id, definition }) => ({ method: definition.method, path: definition.path, function: id })),
        compatibilityDate: typeof config["compatibility_date"] === "string" ? config["compatibility_date"] : undefined,
        compatibilityFlags: Array.isArray(config["compatibility_flags"]) ? config["compatibility_flags"].map(String) : undefined,
        vars: typeof config["vars"] === "object" && config["vars"] !== null ? (config["vars"] as Record<string, Json>) : {},
      },
    };
  } catch (error) {
    outcome = { ok: false, message: await describeBuildError(error) };
  }
  // A function module may have left a timer or a socket open; the build is done.
  process.send!(outcome, () => process.exit(0));
}

/** Mecha's own errors name the file, component and field: their message is enough. */
async function describeBuildError(error: unknown): Promise<string> {
  const { MechaError } = await import("../../errors.ts");
  const { BuildError } = await import("../../build/errors.ts");
  if (error instanceof MechaError || error instanceof BuildError) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof Error && typeof code === "string" && /^E[A-Z]+$/.test(code)) return error.message;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * Builds in a fresh Node process — tsx first, then this module — because the build imports the
 * function modules and a process never forgets a module it has imported.
 */
export function buildInProcess(request: WorkersBuildRequest, started: (child: ChildProcess) => void): Promise<BuildOutcome> {
  const source = [
    `const { register } = await import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))});`,
    "register();",
    `const { runBuildProcess } = await import(${JSON.stringify(import.meta.url)});`,
    "await runBuildProcess();",
  ].join("\n");
  const child = spawn(process.execPath, ["--input-type=module", "--eval", source], {
    cwd: request.projectDir,
    env: request.env as NodeJS.ProcessEnv,
    // Function modules that log while they load log where the Worker does.
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  started(child);
  child.send(request);
  return new Promise((done) => {
    let outcome: BuildOutcome | undefined;
    child.once("message", (message) => (outcome = message as BuildOutcome));
    child.once("error", (error) => (outcome ??= { ok: false, message: `could not start the build: ${error.message}` }));
    child.once("close", (code, signal) => done(outcome ?? { ok: false, message: `the build stopped (${signal ?? `exit code ${code}`})` }));
  });
}

