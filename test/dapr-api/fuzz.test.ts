/**
 * Thousands of random and malformed requests against the Dapr API (fast-check): whatever comes in,
 * the host answers without a 5xx, every error body carries an errorCode, and it keeps serving.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentYaml } from "../support/app-fixture.ts";
import { startDaprApiHost, type DaprApiHost } from "../support/dapr-api-host.ts";

let app: DaprApiHost;
beforeAll(async () => {
  app = await startDaprApiHost({
    files: {
      "components/store.yaml": componentYaml("store", "state.sqlite", { connectionString: ".mecha/state.db" }),
      "components/memory.yaml": componentYaml("memory", "state.in-memory"),
      "components/bus.yaml": componentYaml("bus", "pubsub.in-memory"),
      "components/files.yaml": componentYaml("files", "bindings.localstorage", { rootPath: "files" }),
      "components/vault.yaml": componentYaml("vault", "secretstores.local.file", { secretsFile: "secrets.json" }),
      "secrets.json": JSON.stringify({ token: "t0ken", nested: { a: "b" } }),
    },
    options: { bodyLimit: 64 * 1024 },
  });
});
afterAll(() => app?.close());

// ---- what a request is made of -------------------------------------------------------------

const odd = fc.constantFrom("", " ", "||", "a||b", "%", "%zz", "..", "../x", "é", "💥", "\u0000", "'; DROP TABLE x; --", "a/b", "?", "#", "null");
// Mostly the app's own components, so that requests reach the building blocks, not only the 404s.
const name = fc.oneof(
  { arbitrary: fc.constantFrom("store", "memory", "bus", "files", "vault"), weight: 12 },
  { arbitrary: fc.constantFrom("nowhere", "cron:x"), weight: 1 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
  { arbitrary: odd, weight: 1 },
);
const segment = fc.oneof(fc.string({ maxLength: 16 }), fc.string({ unit: "grapheme", maxLength: 8 }), odd, fc.constantFrom("bulk", "transaction"));
const encoded = (s: fc.Arbitrary<string>) => fc.tuple(s, fc.boolean()).map(([text, raw]) => (raw ? text.replace(/[/?#\s]/g, "_") : encodeURIComponent(text)));

const path = fc.oneof(
  fc.tuple(name, encoded(segment)).map(([s, k]) => `/v1.0/state/${encodeURIComponent(s)}/${k}`),
  name.map((s) => `/v1.0/state/${encodeURIComponent(s)}`),
  name.map((s) => `/v1.0/state/${encodeURIComponent(s)}/bulk`),
  name.map((s) => `/v1.0/state/${encodeURIComponent(s)}/transaction`),
  fc.tuple(name, encoded(segment)).map(([p, t]) => `/v1.0/publish/${encodeURIComponent(p)}/${t}`),
  fc.tuple(fc.constantFrom("/v1.0-alpha1", "/v1.0"), name, encoded(segment)).map(([v, p, t]) => `${v}/publish/bulk/${encodeURIComponent(p)}/${t}`),
  name.map((b) => `/v1.0/bindings/${encodeURIComponent(b)}`),
  fc.tuple(name, encoded(segment)).map(([s, k]) => `/v1.0/secrets/${encodeURIComponent(s)}/${k}`),
  fc.tuple(fc.constantFrom("lock", "unlock"), name).map(([op, s]) => `/v1.0-alpha1/${op}/${encodeURIComponent(s)}`),
  fc.tuple(fc.oneof(fc.constant("api-test"), name), fc.array(encoded(segment), { maxLength: 3 })).map(([id, rest]) => `/v1.0/invoke/${encodeURIComponent(id)}/method/${rest.join("/")}`),
  fc.constantFrom("/v1.0/metadata", "/v1.0/healthz", "/v1.0/healthz/outbound", "/v1.0/metadata/attr", "/", "/v1.0", "/v1.0/"),
  fc.array(encoded(segment), { maxLength: 5 }).map((parts) => `/${parts.join("/")}`),
);

const query = fc.array(
  fc.tuple(fc.oneof(fc.constantFrom("metadata.ttlInSeconds", "metadata.rawPayload", "concurrency", "consistency", "metadata.contentType"), fc.string({ maxLength: 8 })), fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("-1", "0", "1", "true", "first-write", "1e999", "NaN"))),
  { maxLength: 3 },
);

const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), odd, fc.constant(undefined));
const metadataMap = fc.oneof(fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("ttlInSeconds", "fileName", "key", "rawPayload")), fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("5", "-1", "x"))), fc.jsonValue({ maxDepth: 2 }));
const stateItem = fc.record(
  {
    key: fc.oneof(segment, fc.jsonValue({ maxDepth: 1 })),
    value,
    etag: fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null)),
    metadata: metadataMap,
    options: fc.oneof(fc.record({ concurrency: fc.oneof(fc.constantFrom("first-write", "last-write"), fc.string({ maxLength: 5 })), consistency: fc.string({ maxLength: 5 }) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);
const shapedBody = fc.oneof(
  fc.array(stateItem, { maxLength: 4 }),
  fc.record({ keys: fc.oneof(fc.array(segment, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })), parallelism: fc.jsonValue({ maxDepth: 0 }) }, { requiredKeys: [] }),
  fc.record(
    {
      operations: fc.oneof(fc.array(fc.record({ operation: fc.oneof(fc.constantFrom("upsert", "delete"), fc.string({ maxLength: 6 })), request: fc.oneof(stateItem, fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }), { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
      metadata: metadataMap,
    },
    { requiredKeys: [] },
  ),
  fc.array(fc.record({ entryId: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), event: value, contentType: fc.oneof(fc.constantFrom("application/json", "text/plain", "application/cloudevents+json", "application/octet-stream"), fc.string({ maxLength: 8 })), metadata: metadataMap }, { requiredKeys: [] }), { maxLength: 4 }),
  fc.record({ operation: fc.oneof(fc.constantFrom("create", "get", "list", "delete"), fc.string({ maxLength: 6 })), data: value, metadata: metadataMap }, { requiredKeys: [] }),
  fc.record({ resourceId: fc.oneof(segment, fc.integer()), lockOwner: fc.oneof(segment, fc.integer()), expiryInSeconds: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 3 })) }, { requiredKeys: [] }),
  fc.record({ specversion: fc.constantFrom("1.0", "0.3", 1), id: fc.jsonValue({ maxDepth: 0 }), source: fc.jsonValue({ maxDepth: 0 }), type: fc.jsonValue({ maxDepth: 0 }), data: value }, { requiredKeys: [] }),
);
const body = fc.oneof(
  shapedBody.map((b) => JSON.stringify(b) ?? ""),
  fc.jsonValue({ maxDepth: 3 }).map((b) => JSON.stringify(b)),
  fc.string({ maxLength: 64 }),
  fc.constantFrom("", "{", "[", "[{", "nul", '{"keys":', "\u0000", "[]", "{}", "null", "0", '"x"'),
  fc.uint8Array({ maxLength: 64 }),
);

const request = fc.record({
  method: fc.oneof(
    { arbitrary: fc.constant("POST"), weight: 5 },
    { arbitrary: fc.constant("GET"), weight: 4 },
    { arbitrary: fc.constantFrom("PUT", "DELETE"), weight: 2 },
    { arbitrary: fc.constantFrom("PATCH", "OPTIONS", "HEAD"), weight: 1 },
  ),
  path,
  query,
  contentType: fc.option(fc.constantFrom("application/json", "text/plain", "application/cloudevents+json", "application/octet-stream", "application/xml", "nonsense", "application/json; charset=utf-8")),
  ifMatch: fc.option(fc.string({ maxLength: 6 }).map((s) => s.replace(/[^\x20-\x7e]/g, ""))),
  daprAppId: fc.option(fc.oneof(fc.constantFrom("api-test", "elsewhere"), fc.string({ maxLength: 6 }).map((v) => v.replace(/[^\x21-\x7e]/g, "")))),
  traceparent: fc.option(fc.constantFrom("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "garbage", "00-00000000000000000000000000000000-0000000000000000-00")),
  body: fc.option(body),
});

// ---- the property --------------------------------------------------------------------------

describe("the Dapr API under random and malformed requests", () => {
  it("never answers 5xx, always gives an errorCode with a 4xx, and keeps serving", async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const url = new URL(`${app.host.daprApiUrl}${r.path}`);
        for (const [k, v] of r.query) url.searchParams.append(k, v);
        const headers: Record<string, string> = {};
        if (r.contentType) headers["content-type"] = r.contentType;
        if (r.ifMatch !== null) headers["if-match"] = r.ifMatch;
        if (r.traceparent) headers["traceparent"] = r.traceparent;
        if (r.daprAppId) headers["dapr-app-id"] = r.daprAppId;
        const withBody = r.body !== null && r.method !== "GET" && r.method !== "HEAD";
        const response = await fetch(url, { method: r.method, headers, ...(withBody ? { body: r.body as RequestInit["body"] } : {}) });
        const text = await response.text();
        seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
        const where = `${r.method} ${url.pathname}${url.search} → ${response.status} ${text.slice(0, 300)}`;
        expect(response.status, where).toBeLessThan(500);
        if (response.status >= 400 && r.method !== "HEAD") {
          const parsed = JSON.parse(text) as { errorCode?: unknown; message?: unknown };
          expect(typeof parsed.errorCode, where).toBe("string");
          expect(typeof parsed.message, where).toBe("string");
        }
      }),
      { numRuns: 3000 },
    );
    if (process.env["FUZZ_REPORT"]) console.log(Object.fromEntries(seen));
    // The fuzz reached the routes, not only the 404 handler: successes and client errors both.
    expect([...seen.keys()].some((s) => s >= 200 && s < 300)).toBe(true);
    expect([...seen.keys()].filter((s) => s >= 400).length).toBeGreaterThan(3);
    expect((await app.api("/v1.0/healthz")).status).toBe(204);
  }, 120_000);
});
