/** Where mecha's own files are, for builds that import them by absolute path. */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The mecha package root (the folder of its package.json), absolute. */
export const packageRoot = fileURLToPath(new URL("../../", import.meta.url));

/** A file of the mecha package, absolute, from its package-relative path. */
export const packageFile = (relativePath: string): string => join(packageRoot, relativePath);
