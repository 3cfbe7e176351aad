/**
 * `bindings.localstorage`: an output binding over files in a folder, like Dapr's. The local
 * stand-in for object-store bindings (S3, R2): portable code names files with `key`, as it does
 * there; Dapr's `fileName` works too.
 *
 * Component metadata: `rootPath` (required; relative to the project root; created on first use).
 *
 * Operations (request metadata `fileName`, or its alias `key`):
 * - `create` — writes `data` (bytes as is, a string as UTF-8, anything else as JSON) to the file;
 *   without a name, a random UUID is used. Returns `{ fileName }`.
 * - `get` — the file's bytes (`Uint8Array`); a missing file is an error.
 * - `list` — the names of all files (recursive, `/`-separated, sorted); data may be
 *   `{ prefix?, maxResults? }`.
 * - `delete` — removes the file; a missing file is an error, as in Dapr.
 *
 * A name that would leave `rootPath` (`..`, an absolute path) is rejected.
 *
 * @example
 * await ctx.binding("receipts").invoke("create", receipt, { key: `${receipt.id}.json` });
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, unlink, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { BindingRequest, OutputBindingComponent } from "../../blocks/bindings.ts";
import { encodeBindingData, parseListOptions, outputBinding, type OperationHandlers } from "../../blocks/bindings.ts";
import { ErrorCodes, InvalidRequestError, MechaError, NotFoundError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";

export const type = "bindings.localstorage";


/** System folders Dapr refuses as a root: writing there is never what a binding is for. */
const disallowedRoots = ["/proc", "/sys", "/boot", "/var/run/secrets"];

/** Creates the binding; the folder is created on first use. */
export function create({ name, metadata, baseDir }: ComponentOptions): OutputBindingComponent {
  const root = resolve(baseDir, metadata.requiredString("rootPath"));
  if (disallowedRoots.some((p) => root === p || root.startsWith(`${p}/`))) {
    throw metadata.error("rootPath", `points to a system folder (${root}); choose a folder of your own`);
  }
  let ready: Promise<unknown> | undefined;
  const ensureRoot = (): Promise<unknown> => {
    if (!ready) {
      ready = mkdir(root, { recursive: true });
      ready.catch(() => (ready = undefined));
    }
    return ready;
  };

  const fail = (message: string, cause?: unknown): MechaError =>
    new MechaError(ErrorCodes.bindingInvoke, `binding "${name}" (${type}): ${message}`, { component: name, cause });
  const notFound = (message: string, cause?: unknown): NotFoundError =>
    new NotFoundError(ErrorCodes.bindingInvoke, `binding "${name}" (${type}): ${message}`, { component: name, cause });
  const malformed = (message: string): InvalidRequestError =>
    new InvalidRequestError(`binding "${name}" (${type}): ${message}`, { component: name });

  /** The file's path inside the root; anything that would leave the root is refused. */
  function pathOf(fileName: string): string {
    if (fileName.includes("\0")) throw malformed(`file name must not contain a NUL character`);
    if (isAbsolute(fileName) || /^[a-zA-Z]:/.test(fileName) || /^[\\/]/.test(fileName)) {
      throw malformed(`file name "${fileName}" must be relative to the binding's rootPath`);
    }
    if (fileName.split(/[\\/]/).includes("..")) throw malformed(`file name "${fileName}" must not contain ".." segments`);
    const path = resolve(root, fileName);
    const inside = relative(root, path);
    if (!inside || inside.startsWith("..") || isAbsolute(inside)) throw malformed(`file name "${fileName}" is outside rootPath`);
    return path;
  }

  function requiredName(request: BindingRequest): string {
    const fileName = fileNameOf(request);
    if (!fileName) throw malformed(`"${request.operation}" needs the file name in metadata "fileName" (or "key")`);
    return fileName;
  }

  const handlers: OperationHandlers = {
    async create(request) {
      const fileName = fileNameOf(request) ?? randomUUID();
      const path = pathOf(fileName);
      await ensureRoot();
      try {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, encodeBindingData(request.data));
      } catch (cause) {
        throw fail(`could not write "${fileName}" (${errorCode(cause)})`, cause);
      }
      const stored = toSlashes(relative(root, path));
      return { data: { fileName: stored }, metadata: { fileName: stored } };
    },

    async get(request) {
      const fileName = requiredName(request);
      const path = pathOf(fileName);
      try {
        const bytes = await readFile(path);
        return { data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), metadata: { fileName } };
      } catch (cause) {
        if (errorCode(cause) === "ENOENT") throw notFound(`file "${fileName}" not found`, cause);
        throw fail(`could not read "${fileName}" (${errorCode(cause)})`, cause);
      }
    },

    async list(request) {
      const { prefix, maxResults } = parseListOptions(request.data, malformed);
      await ensureRoot();
      const names = (await walk(root))
        .map((path) => toSlashes(relative(root, path)))
        .filter((fileName) => !prefix || fileName.startsWith(prefix))
        .sort();
      return { data: maxResults === undefined ? names : names.slice(0, maxResults), metadata: {} };
    },

    async delete(request) {
      const fileName = requiredName(request);
      const path = pathOf(fileName);
      try {
        await unlink(path);
      } catch (cause) {
        if (errorCode(cause) === "ENOENT") throw notFound(`file "${fileName}" not found`, cause);
        throw fail(`could not delete "${fileName}" (${errorCode(cause)})`, cause);
      }
      return { data: undefined, metadata: { fileName } };
    },
  };

  return outputBinding({ type, name, handlers });
}

/** `fileName` (Dapr's) or `key` (the object stores' name), whichever is set. */
function fileNameOf(request: BindingRequest): string | undefined {
  return request.metadata?.["fileName"] || request.metadata?.["key"] || undefined;
}

async function walk(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) return walk(path);
      return Promise.resolve(entry.isFile() ? [path] : []);
    }),
  );
  return nested.flat();
}

function toSlashes(path: string): string {
  return sep === "/" ? path : path.split(sep).join("/");
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? "unknown error";
}
