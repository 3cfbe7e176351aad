import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadResources, parseResourcesText } from "../../src/config/load.ts";
import { ComponentConfigError, ErrorCodes } from "../../src/errors.ts";
import { rejectionOf } from "../support/rejection.ts";

const file = "components/local/orders.yaml";

/** A Component document with the given spec lines (indented under `spec:`). */
const component = (name: string, spec: string, extra = ""): string =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n${spec}\n${extra}`;

/** The ComponentConfigError that parsing `text` throws. */
function configError(text: string): ComponentConfigError {
  try {
    parseResourcesText(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ComponentConfigError);
    return error as ComponentConfigError;
  }
  throw new Error("expected a ComponentConfigError");
}

function expectNames(error: ComponentConfigError, field: string, component?: string): void {
  expect(error.code).toBe(ErrorCodes.componentConfig);
  expect(error.file).toBe(file);
  expect(error.field).toBe(field);
  expect(error.message).toContain(file);
  expect(error.message).toContain(`field "${field}"`);
  if (component) {
    expect(error.component).toBe(component);
    expect(error.message).toContain(`component "${component}"`);
  }
}

describe("parseResourcesText: valid documents", () => {
  it("reads a multi-document file of components and subscriptions", () => {
    const text = `
${component("orders", "  type: state.sqlite\n  version: v1\n  metadata:\n    - name: connectionString\n      value: .mecha/state.db")}
---
${component(
  "orderbus",
  `  type: pubsub.redis
  metadata:
    - name: redisHost
      envRef: REDIS_HOST
    - name: redisPassword
      secretKeyRef: { name: redis, key: password }
    - name: enableTLS
      value: false
    - name: maxRetries
      value: 3
    - name: empty
      value: ""`,
  "auth:\n  secretStore: env\nscopes: [checkout, fulfilment]",
)}
---
apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata: { name: placed }
spec:
  topic: orders.placed
  route: /orders
  pubsubname: orderbus
  deadLetterTopic: orders.dead
  metadata:
    rawPayload: "true"
scopes: [fulfilment]
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: { name: shipped }
spec:
  topic: orders.shipped
  pubsubname: orderbus
  routes:
    default: shipped
---
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: { name: tracing }
spec: { tracing: { samplingRate: "1" } }
---
`;
    const { components, subscriptions } = parseResourcesText(text, file);

    expect(components).toEqual([
      {
        name: "orders",
        type: "state.sqlite",
        version: "v1",
        metadata: [{ name: "connectionString", value: ".mecha/state.db" }],
        scopes: [],
        file,
      },
      {
        name: "orderbus",
        type: "pubsub.redis",
        version: "v1",
        metadata: [
          { name: "redisHost", envRef: "REDIS_HOST" },
          { name: "redisPassword", secretKeyRef: { name: "redis", key: "password" } },
          { name: "enableTLS", value: "false" },
          { name: "maxRetries", value: "3" },
          { name: "empty", value: "" },
        ],
        secretStore: "env",
        scopes: ["checkout", "fulfilment"],
        file,
      },
    ]);
    expect(subscriptions).toEqual([
      {
        name: "placed",
        pubsub: "orderbus",
        topic: "orders.placed",
        route: "/orders",
        deadLetterTopic: "orders.dead",
        rawPayload: true,
        scopes: ["fulfilment"],
        file,
      },
      { name: "shipped", pubsub: "orderbus", topic: "orders.shipped", route: "/shipped", rawPayload: false, scopes: [], file },
    ]);
  });

  it("skips kinds mecha does not use", () => {
    const text = "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: { name: r }\nspec: {}\n";
    expect(parseResourcesText(text, file)).toEqual({ components: [], subscriptions: [] });
  });

  it("reads an empty file as no resources", () => {
    expect(parseResourcesText("# nothing yet\n", file)).toEqual({ components: [], subscriptions: [] });
  });

  it("keeps a secretKeyRef without key (the key defaults to the secret's name at resolution)", () => {
    const { components } = parseResourcesText(
      component("db", "  type: state.postgresql\n  metadata:\n    - name: connectionString\n      secretKeyRef: { name: pg }"),
      file,
    );
    expect(components[0]!.metadata).toEqual([{ name: "connectionString", secretKeyRef: { name: "pg" } }]);
  });
});

describe("parseResourcesText: component errors name file, component and field", () => {
  it("rejects a missing metadata.name", () => {
    const error = configError("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {}\nspec: { type: state.sqlite }\n");
    expectNames(error, "metadata.name");
    expect(error.message).toContain("document 1");
  });

  it("rejects an empty metadata.name", () => {
    expectNames(configError(component('""', "  type: state.sqlite")), "metadata.name");
  });

  it("rejects a missing spec.type", () => {
    const error = configError(component("orders", "  version: v1"));
    expectNames(error, "spec.type", "orders");
    expect(error.message).toMatch(/is required/);
  });

  it("rejects a missing spec", () => {
    expectNames(configError("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: { name: orders }\n"), "spec", "orders");
  });

  it("rejects spec.metadata that is not a list", () => {
    const error = configError(component("orders", "  type: state.sqlite\n  metadata:\n    connectionString: x.db"));
    expectNames(error, "spec.metadata", "orders");
    expect(error.message).toContain("must be a list");
  });

  it("rejects a metadata entry without a name", () => {
    const error = configError(component("orders", "  type: state.sqlite\n  metadata:\n    - name: a\n      value: x\n    - value: y"));
    expectNames(error, "spec.metadata[1].name", "orders");
  });

  it("rejects a metadata entry with none of value, secretKeyRef or envRef", () => {
    const error = configError(
      component("orders", "  type: state.sqlite\n  metadata:\n    - { name: a, value: x }\n    - { name: b, value: y }\n    - name: connectionString"),
    );
    expectNames(error, "spec.metadata[2]", "orders");
    expect(error.message).toContain("connectionString");
    expect(error.message).toContain("value, secretKeyRef or envRef");
  });

  it("rejects an entry that sets both value and secretKeyRef", () => {
    const error = configError(component("orders", "  type: state.sqlite\n  metadata:\n    - { name: a, value: x, secretKeyRef: { name: s } }"));
    expectNames(error, "spec.metadata[0]", "orders");
  });

  it("rejects a secretKeyRef without a name", () => {
    const error = configError(component("orders", "  type: state.sqlite\n  metadata:\n    - { name: a, secretKeyRef: { key: k } }"));
    expectNames(error, "spec.metadata[0].secretKeyRef.name", "orders");
  });

  it("rejects an empty envRef", () => {
    const error = configError(component("orders", '  type: state.sqlite\n  metadata:\n    - { name: a, envRef: "" }'));
    expectNames(error, "spec.metadata[0].envRef", "orders");
  });

  it("rejects the same metadata name twice", () => {
    const error = configError(component("orders", "  type: state.sqlite\n  metadata:\n    - { name: a, value: x }\n    - { name: a, value: y }"));
    expectNames(error, "spec.metadata[1].name", "orders");
    expect(error.message).toContain("spec.metadata[0]");
  });

  it("converts YAML numbers and booleans to text, as Dapr does", () => {
    const { components } = parseResourcesText(
      component("orders", "  type: state.sqlite\n  metadata:\n    - { name: n, value: 42 }\n    - { name: b, value: true }\n    - { name: e, value: }"),
      file,
    );
    expect(components[0]!.metadata).toEqual([
      { name: "n", value: "42" },
      { name: "b", value: "true" },
      { name: "e", value: "" },
    ]);
  });

  it("rejects a wrong apiVersion for a Component", () => {
    const error = configError("apiVersion: dapr.io/v9\nkind: Component\nmetadata: { name: orders }\nspec: { type: state.sqlite }\n");
    expectNames(error, "apiVersion");
  });

  it("rejects a document without kind", () => {
    expectNames(configError("apiVersion: dapr.io/v1alpha1\nmetadata: { name: orders }\n"), "kind");
  });

  it("rejects scopes that are not a list of strings", () => {
    expectNames(configError(component("orders", "  type: state.sqlite", "scopes: checkout")), "scopes", "orders");
  });

  it("reports a YAML syntax error with its line, without quoting the file", () => {
    const text = `${component("orders", "  type: state.sqlite\n  metadata:\n    - name: password\n      value: hunter2")}\n  broken: [1, 2\nmore: x\n`;
    const error = configError(text);
    expect(error.file).toBe(file);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/YAML syntax error at line \d+/);
    expect(error.message).not.toContain("hunter2");
  });

  it("reports the line of a syntax error in a later document", () => {
    const error = configError(`${component("a", "  type: state.sqlite")}\n---\nkind: a: b\n`);
    expect(error.message).toContain("line 9");
  });

  it("never puts a metadata value in an error", () => {
    const error = configError(component("orders", "  type: state.sqlite\n  metadata:\n    - name: password\n      value: { nested: s3cret }\n    - name: x"));
    expect(error.message).not.toContain("s3cret");
  });
});

describe("parseResourcesText: subscription errors", () => {
  const subscription = (apiVersion: string, spec: string): string =>
    `apiVersion: ${apiVersion}\nkind: Subscription\nmetadata: { name: placed }\nspec:\n${spec}\n`;

  it("rejects a v1alpha1 subscription without route", () => {
    const error = configError(subscription("dapr.io/v1alpha1", "  topic: t\n  pubsubname: bus"));
    expectNames(error, "spec.route");
    expect(error.message).toContain('subscription "placed"');
  });

  it("rejects a subscription without pubsubname", () => {
    expectNames(configError(subscription("dapr.io/v1alpha1", "  topic: t\n  route: /r")), "spec.pubsubname");
  });

  it("rejects a subscription without topic", () => {
    expectNames(configError(subscription("dapr.io/v1alpha1", "  pubsubname: bus\n  route: /r")), "spec.topic");
  });

  it("rejects a v2alpha1 routing rule without a path", () => {
    expectNames(
      configError(subscription("dapr.io/v2alpha1", '  topic: t\n  pubsubname: bus\n  routes:\n    rules:\n      - match: event.type == "big"')),
      "spec.routes.rules[0].path",
    );
  });

  it("rejects a v2alpha1 subscription without routes.default", () => {
    expectNames(configError(subscription("dapr.io/v2alpha1", "  topic: t\n  pubsubname: bus\n  routes: {}")), "spec.routes.default");
  });

  it("rejects an unknown Subscription apiVersion", () => {
    expectNames(configError(subscription("dapr.io/v3", "  topic: t\n  pubsubname: bus\n  route: /r")), "apiVersion");
  });
});

describe("loadResources", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mecha-resources-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads every .yaml and .yml file in name order, and nothing else", async () => {
    await writeFile(join(dir, "b.yml"), component("second", "  type: pubsub.in-memory"));
    await writeFile(join(dir, "a.yaml"), component("first", "  type: state.in-memory"));
    await writeFile(join(dir, "notes.txt"), "not: yaml we read");
    const { components } = await loadResources(dir);
    expect(components.map((c) => c.name)).toEqual(["first", "second"]);
    expect(components[0]!.file).toMatch(/a\.yaml$/);
  });

  it("names both files when a component name is used twice", async () => {
    await writeFile(join(dir, "a.yaml"), component("orders", "  type: state.in-memory"));
    await writeFile(join(dir, "b.yaml"), component("orders", "  type: state.sqlite"));
    const error = await rejectionOf(loadResources(dir));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error.message).toContain("a.yaml");
    expect(error.message).toContain("b.yaml");
    expect(error.message).toContain('component "orders"');
    expect(error.field).toBe("metadata.name");
  });

  it("shows files relative to the working directory", async () => {
    await writeFile(join(dir, "a.yaml"), component("orders", ""));
    const error = await rejectionOf(loadResources(dir));
    const shown = relative(process.cwd(), join(dir, "a.yaml"));
    expect(error.file).toBe(shown.startsWith("..") ? join(dir, "a.yaml") : shown);
  });

  it("fails clearly for a missing folder", async () => {
    const missing = join(dir, "nope");
    await expect(loadResources(missing)).rejects.toThrow(ComponentConfigError);
    await expect(loadResources(missing)).rejects.toThrow(`resources folder "${missing}" does not exist`);
  });
});
