/**
 * CEL routing rules on a real Node host: a Dapr v2alpha1 Subscription with several
 * `spec.routes.rules` delivers each event to the HTTP function of the first rule that matches,
 * else to `routes.default`; without a default an unmatched event is acked, or dead-lettered when
 * the subscription has a deadLetterTopic; a rule that fails on an event is no match; CEL that
 * does not compile stops the host from starting.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNodeHost, type NodeHost } from "../../adapters/node/index.ts";
import type { Settlement } from "../../src/core/delivery.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { ComponentConfigError, ErrorCodes } from "../../src/errors.ts";
import { componentYaml, subscriptionYaml } from "../support/app-fixture.ts";
import { freshName, waitFor } from "../support/wait.ts";

const repo = resolve(import.meta.dirname, "../..");

/** Every route records the events it gets in `globalThis.routingSeen`, as `<path> <n>`. */
const functions = `import { http, subscribe } from ${JSON.stringify(join(repo, "src/index.ts"))};
const seen: string[] = ((globalThis as any).routingSeen = []);
const route = (path: string) =>
  http(\`POST \${path}\`, async (req) => {
    const event = (await req.json()) as { data: { n: string } };
    seen.push(\`\${path} \${event.data.n}\`);
    return new Response(null, { status: 200 });
  });
export const widgets = route("/widgets");
export const gadgets = route("/gadgets");
export const big = route("/big");
export const parts = route("/parts");
export const products = route("/products");
export const kept = route("/kept");
export const deadLetters = subscribe({ pubsub: "bus", topic: "filtered.dead" }, (event) => void seen.push(\`dead-letter \${(event.data as { n: string }).n}\`));
`;

const inventoryRules: Array<[match: string, path: string]> = [
  ['event.data.kind == "widget"', "/widgets"],
  ['event.data.kind in ["widget", "gadget"]', "/gadgets"],
  // Fails on an event without an amount: no match, so the next rule is tried.
  ["event.data.amount > 100.0", "/big"],
  ['event.data.kind == "part"', "/parts"],
];
const inventory = (rules: typeof inventoryRules) => subscriptionYaml("inventory", { pubsub: "bus", topic: "inventory", rules, defaultRoute: "/products" });
const subscriptions = [
  inventory(inventoryRules),
  subscriptionYaml("filtered", { pubsub: "bus", topic: "filtered", rules: [["event.data.keep == true", "/kept"]] }),
  subscriptionYaml("filtered-dlq", { pubsub: "bus", topic: "filtered-dlq", deadLetterTopic: "filtered.dead", rules: [["event.data.keep == true", "/kept"]] }),
].join("---\n");

/** An app folder with the functions above, an in-memory pub/sub and the given Subscription YAML. */
async function appFolder(subscriptionsText: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mecha-routing-rules-"));
  await mkdir(join(dir, "components"));
  await mkdir(join(dir, "functions"));
  await writeFile(join(dir, "functions/app.ts"), functions);
  await writeFile(join(dir, "components/bus.yaml"), componentYaml("bus", "pubsub.in-memory"));
  await writeFile(join(dir, "components/subscriptions.yaml"), subscriptionsText);
  return dir;
}

describe("CEL routing rules on the Node host", () => {
  let dir: string;
  let host: NodeHost;
  const settled: Array<{ subscription: string; n: string; settlement: Settlement }> = [];
  const seen = () => (globalThis as { routingSeen?: string[] }).routingSeen ?? [];
  const settlementsOf = (subscription: string, n: string) =>
    settled.filter((s) => s.subscription === `routing.${subscription}` && s.n === n).map((s) => s.settlement);

  beforeAll(async () => {
    dir = await appFolder(subscriptions);
    host = await startNodeHost({
      baseDir: dir,
      resources: "components",
      port: 0,
      logger: silentLogger,
      appId: "routing",
      onSettled: (subscription, message, settlement) =>
        settled.push({ subscription, n: JSON.parse(new TextDecoder().decode(message.data)).data?.n, settlement }),
    });
  });
  afterAll(async () => {
    await host?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Publishes `data` with a fresh `n` and waits until the subscription settled it. */
  async function deliver(topic: string, subscription: string, data: Record<string, unknown>): Promise<string> {
    const n = freshName(topic);
    await host.app.runtime.publish("bus", topic, { ...data, n });
    await waitFor(() => settlementsOf(subscription, n).length > 0, { what: `${subscription} to settle ${n}` });
    return n;
  }

  it("delivers an event to the path of the first rule that matches, though a later rule matches too", async () => {
    const n = await deliver("inventory", "inventory", { kind: "widget" });
    expect(seen().filter((line) => line.endsWith(n))).toEqual([`/widgets ${n}`]);
    expect(settlementsOf("inventory", n)).toEqual(["acked"]);
  });

  it("tries the rules in order until one matches", async () => {
    const gadget = await deliver("inventory", "inventory", { kind: "gadget" });
    const large = await deliver("inventory", "inventory", { kind: "bolt", amount: 500 });
    expect(seen().filter((line) => line.endsWith(gadget) || line.endsWith(large))).toEqual([`/gadgets ${gadget}`, `/big ${large}`]);
  });

  it("treats a rule that fails on the event (a missing field) as no match and tries the next", async () => {
    const n = await deliver("inventory", "inventory", { kind: "part" });
    expect(seen().filter((line) => line.endsWith(n))).toEqual([`/parts ${n}`]);
    expect(settlementsOf("inventory", n)).toEqual(["acked"]);
  });

  it("delivers an event no rule matches to the default route", async () => {
    const n = await deliver("inventory", "inventory", { kind: "bolt" });
    expect(seen().filter((line) => line.endsWith(n))).toEqual([`/products ${n}`]);
  });

  it("acks an event no rule matches when there is no default route, delivering it nowhere", async () => {
    const unmatched = await deliver("filtered", "filtered", { keep: false });
    const matched = await deliver("filtered", "filtered", { keep: true });
    expect(settlementsOf("filtered", unmatched)).toEqual(["dropped"]);
    expect(seen().filter((line) => line.endsWith(unmatched))).toEqual([]);
    expect(seen().filter((line) => line.endsWith(matched))).toEqual([`/kept ${matched}`]);
  });

  it("dead-letters an event no rule matches when the subscription has a deadLetterTopic", async () => {
    const n = await deliver("filtered-dlq", "filtered-dlq", { keep: false });
    expect(settlementsOf("filtered-dlq", n)).toEqual(["dead-lettered"]);
    await waitFor(() => seen().includes(`dead-letter ${n}`), { what: "the dead-letter topic's subscriber to get the event" });
    expect(seen().filter((line) => line.endsWith(n))).toEqual([`dead-letter ${n}`]);
  });
});

describe("CEL routing rules that do not compile", () => {
  it("stop the host at startup with a ComponentConfigError naming the file, the subscription and the rule's match", async () => {
    const bad = inventory(inventoryRules.map(([match, path]) => [match === 'event.data.kind == "part"' ? `${match} &&` : match, path]));
    const dir = await appFolder(bad);
    try {
      const error = await startNodeHost({ baseDir: dir, resources: "components", port: 0, logger: silentLogger, appId: "routing-bad" }).then(
        async (host) => {
          await host.close();
          return expect.fail("expected the host not to start");
        },
        (error: unknown) => error,
      );
      expect(error).toBeInstanceOf(ComponentConfigError);
      const configError = error as ComponentConfigError;
      expect(configError.code).toBe(ErrorCodes.componentConfig);
      expect(configError.file).toMatch(/subscriptions\.yaml$/);
      expect(configError.field).toBe("spec.routes.rules[3].match");
      expect(configError.message).toContain('subscription "inventory"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
