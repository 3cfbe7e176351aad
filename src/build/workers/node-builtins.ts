/**
 * Node's built-in modules in a Workers bundle. workerd provides them (`node:util`, `node:events`,
 * `node:http` …) under the `nodejs_compat` flag, so they stay outside the bundle — and they are
 * written with the `node:` prefix, which workerd and Miniflare resolve without guessing.
 *
 * A CommonJS dependency (cloudevents) `require()`s them. In an ES module bundle esbuild would
 * turn that into a `__require` call that throws ("Dynamic require of "util" is not supported"),
 * because a Worker has no `require`. Each such require instead gets a tiny module that imports
 * the builtin and hands back its default export, the module object CommonJS code expects —
 * the same shim wrangler applies when it bundles.
 */
import { builtinModules } from "node:module";
import type { Plugin } from "esbuild";

const builtins = new Set(builtinModules.filter((name) => !name.startsWith("_")));
const requireNamespace = "mecha-node-require";

/** The esbuild plugin; see the module comment. */
export function nodeBuiltinsPlugin(): Plugin {
  return {
    name: "mecha-node-builtins",
    setup(build) {
      build.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
        const name = args.path.replace(/^node:/, "");
        if (!builtins.has(name)) return undefined;
        if (args.kind === "require-call") return { path: `node:${name}`, namespace: requireNamespace };
        return { path: `node:${name}`, external: true };
      });
      build.onLoad({ filter: /.*/, namespace: requireNamespace }, (args) => ({
        contents: `import builtin from ${JSON.stringify(args.path)};\nmodule.exports = builtin;\n`,
        loader: "js",
      }));
    },
  };
}
