/** Runs the `mecha` CLI in-process in a folder and collects what it printed. */
import { Writable } from "node:stream";
import { main } from "../../src/cli/main.ts";
import type { CliIo } from "../../src/cli/output.ts";

export interface CliRun {
  code: Awaited<ReturnType<typeof main>>;
  stdout: string;
  stderr: string;
}

/** `mecha <argv…>` with `cwd` as the project root and an empty environment. */
export async function runCli(cwd: string, ...argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const io: CliIo = { stdout: sink((t) => (stdout += t)), stderr: sink((t) => (stderr += t)), env: {}, cwd };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
