/**
 * The Lambda bench's child processes. They run as plain JavaScript in a fresh `node` with no
 * loader hooks (tsx would slow every import), so they are compiled first.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { build } from "esbuild";

export interface ChildScripts {
  coldStart: string;
  sqsBatch: string;
}

/** Compiles the child scripts into `dir`. */
export async function compileChildren(dir: string): Promise<ChildScripts> {
  const compile = async (name: string) => {
    const outfile = join(dir, `${name}.mjs`);
    await build({
      entryPoints: [join(import.meta.dirname, `${name}.ts`)],
      outfile,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "silent",
    });
    return outfile;
  };
  return { coldStart: await compile("cold-start-child"), sqsBatch: await compile("sqs-batch-child") };
}

/** Runs `node <script> ...args` and resolves with what it reported on its `result <json>` line. */
export function runChild<T>(script: string, args: string[]): Promise<T> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, AWS_REGION: "us-east-1" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => {
      const line = /^result (.+)$/m.exec(stdout)?.[1];
      if (code === 0 && line) resolve(JSON.parse(line) as T);
      else reject(new Error(`${script} ${args.join(" ")} exited with ${code}\n${stderr.slice(-2000)}`));
    });
  });
}
