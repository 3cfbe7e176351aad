/** How the CLI shows files and sizes. */
import { relative } from "node:path";
import type { CliIo } from "./output.ts";

/** A file relative to the working directory when it is inside it, else absolute. */
export function displayPath(io: CliIo, file: string): string {
  const rel = relative(io.cwd, file);
  return rel && !rel.startsWith("..") ? rel : file;
}

/** Bytes as `512 B` or `12.3 KB`. */
export function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}
