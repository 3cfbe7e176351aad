/**
 * Switching cloud is switching the resources folder: every folder the repo ships defines the
 * same component names, with the same building block each, and every one of them is valid.
 */
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { componentCatalog } from "../../src/components/catalog.ts";
import { loadResources } from "../../src/config/load.ts";
import { Runtime } from "../../src/core/runtime.ts";

const repo = resolve(import.meta.dirname, "../..");
const folders = ["components/local", "components/cloudflare", "components/aws"];

const shapeOf = async (folder: string) => {
  const { components } = await loadResources(resolve(repo, folder));
  return Object.fromEntries(components.map((c) => [c.name, componentCatalog[c.type]?.block]));
};

describe("the example's resources folders", () => {
  it.each(folders.slice(1))("%s names the same components, of the same blocks, as components/local", async (folder) => {
    expect(await shapeOf(folder)).toEqual(await shapeOf("components/local"));
  });

  it.each(folders)("%s loads, and each component's metadata is valid", async (folder) => {
    const { components } = await loadResources(resolve(repo, folder));
    const runtime = new Runtime({ appId: "check", components, catalog: componentCatalog, baseDir: repo, env: {} });
    // Creating a component validates its metadata and does no network I/O.
    for (const { name, block } of runtime.components) {
      if (block === "state") await runtime.state(name);
      else if (block === "pubsub") await runtime.pubsub(name);
      else if (block === "secretstores") await runtime.secretStore(name);
      else await runtime.outputBinding(name);
    }
    await runtime.close();
  });
});
