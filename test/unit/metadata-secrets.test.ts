import { describe, expect, it } from "vitest";
import { componentCatalog } from "../../src/components/catalog.ts";
import { Runtime } from "../../src/core/runtime.ts";
import { ComponentConfigError } from "../../src/errors.ts";

describe("metadata values from secrets and the environment", () => {
  it("never appear in a config error, even when the component quotes the bad value", async () => {
    const runtime = new Runtime({
      appId: "a",
      baseDir: ".",
      catalog: componentCatalog,
      env: { STATE_TABLE: "hunter2-not-a-table!" },
      components: [
        { name: "store", type: "state.sqlite", version: "v1", scopes: [], metadata: [{ name: "connectionString", value: ":memory:" }, { name: "tableName", envRef: "STATE_TABLE" }] },
      ],
    });
    const error = await runtime.state("store").catch((e) => e);
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error.field).toBe("tableName");
    expect(error.message).not.toContain("hunter2");
    expect(error.message).toContain("<value from secretKeyRef/envRef>");
  });

  it("still shows a value written in the YAML itself", async () => {
    const runtime = new Runtime({
      appId: "a",
      baseDir: ".",
      catalog: componentCatalog,
      components: [
        { name: "store", type: "state.sqlite", version: "v1", scopes: [], metadata: [{ name: "connectionString", value: ":memory:" }, { name: "tableName", value: "bad name!" }] },
      ],
    });
    const error = await runtime.state("store").catch((e) => e);
    expect(error.message).toContain('"bad name!"');
  });
});
