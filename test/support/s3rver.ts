/**
 * A real S3 API on 127.0.0.1 for tests: s3rver (S3 on a temporary directory), on a free port,
 * with a fresh bucket per start.
 *
 * s3rver runs in a child process started with `--openssl-legacy-provider`: s3rver 3 encrypts its
 * ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node >= 17) only offers in its
 * legacy provider, so in the test process every listing past one page failed with
 * ERR_OSSL_EVP_UNSUPPORTED. The test process keeps its default crypto.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { freshName } from "./wait.ts";

export interface S3rver {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** The bucket made at start. */
  bucket: string;
  /** A client for the server, to set up or inspect buckets in tests. */
  client: S3Client;
  /** The metadata of a `bindings.aws.s3` component on this server and bucket. */
  metadata(extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

// s3rver's built-in account; it checks the access key id, not SigV4 signatures.
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
const region = "us-east-1";
const startTimeoutMs = 15_000;

/** Runs in the child: starts s3rver, prints its port, and stops when the parent closes stdin. */
const childScript = `
const S3rver = require(process.env.MECHA_S3RVER_MODULE);
const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: process.env.MECHA_S3RVER_DIRECTORY });
server.run().then(
  ({ port }) => process.stdout.write(JSON.stringify({ port }) + "\\n"),
  (error) => { process.stderr.write(String((error && error.stack) || error)); process.exit(1); },
);
process.stdin.on("end", () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

/** Starts s3rver on 127.0.0.1 (port 0) in a child process and creates a fresh bucket. */
export async function startS3rver(): Promise<S3rver> {
  const directory = await mkdtemp(join(tmpdir(), "mecha-s3rver-"));
  let child: ChildProcess | undefined;
  try {
    child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", childScript], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, MECHA_S3RVER_MODULE: createRequire(import.meta.url).resolve("s3rver"), MECHA_S3RVER_DIRECTORY: directory },
    });
    const port = await portOf(child);
    const endpoint = `http://127.0.0.1:${port}`;
    const client = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
    const bucket = freshName("mecha-bindings");
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const server = child;
    return {
      endpoint,
      bucket,
      client,
      metadata: (extra = {}) => ({
        bucket,
        endpoint,
        region,
        accessKey: credentials.accessKeyId,
        secretKey: credentials.secretAccessKey,
        forcePathStyle: "true",
        ...extra,
      }),
      async stop() {
        client.destroy();
        await stopChild(server);
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (child) await stopChild(child);
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

/** The port the child prints once s3rver listens; rejects with its stderr if it exits first. */
function portOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => fail(new Error(`s3rver did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    child.once("error", fail);
    child.once("exit", (code, signal) => fail(new Error(`s3rver exited (${signal ?? `code ${code}`}) before listening: ${stderr.trim() || "no output"}`)));
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch {
        reject(new Error(`s3rver printed "${line}" instead of its port`));
      }
    });
  });
}

/** Asks the child to stop (closing its stdin); kills it if it has not exited within 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
