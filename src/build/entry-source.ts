/**
 * Pieces of the entry modules builds generate: import specifiers for absolute paths, and the
 * component catalog of only the types an app uses, so a bundle carries no other component's code.
 */
import { sep } from "node:path";
import { componentCatalog } from "../components/catalog.ts";
import { componentFiles } from "./component-files.ts";
import { packageFile } from "./package-root.ts";

/** A file as an import specifier: absolute, with forward slashes, quoted. */
export const specifier = (file: string): string => JSON.stringify(file.split(sep).join("/"));

/** A file of the mecha package as an import specifier. */
export const packageSpecifier = (relativePath: string): string => specifier(packageFile(relativePath));

/**
 * The source of `const catalog: Record<string, CatalogEntry> = { … }` for the given types, each
 * loaded by a dynamic import, so the bundler can keep components out of the startup path.
 */
export function catalogSource(componentTypes: readonly string[]): string[] {
  const entries = componentTypes.map((type) => {
    const file = componentFiles[type]?.file;
    const block = componentCatalog[type]?.block;
    if (!file || !block) throw new Error(`component type "${type}" is missing from the catalog or from src/build/component-files.ts`);
    return `  ${JSON.stringify(type)}: { block: ${JSON.stringify(block)}, load: () => import(${packageSpecifier(file)}) },`;
  });
  return ["const catalog: Record<string, CatalogEntry> = {", ...entries, "};"];
}

/** The imports of the function modules (`m0`, `m1`, …) and the `modules` array expression. */
export function moduleSource(modules: ReadonlyArray<{ name: string; file: string }>): { imports: string[]; array: string } {
  return {
    imports: modules.map((module, i) => `import * as m${i} from ${specifier(module.file)};`),
    array: `[${modules.map((module, i) => `{ name: ${JSON.stringify(module.name)}, exports: m${i} }`).join(", ")}]`,
  };
}
