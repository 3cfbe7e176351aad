import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../src/core/delivery.ts";
import { continueTrace } from "../../src/core/trace.ts";
import { decodeDelivery, encodeEnvelope } from "../../src/core/cloudevent.ts";

describe("backoff", () => {
  it("doubles from the initial delay, within ±20 % jitter", () => {
    for (const [attempt, base] of [[1, 100], [2, 200], [3, 400], [4, 800]] as const) {
      const delay = backoffDelay(attempt, { initialMs: 100, maxMs: 10_000 });
      expect(delay).toBeGreaterThanOrEqual(base * 0.8);
      expect(delay).toBeLessThanOrEqual(base * 1.2);
    }
  });

  it("never exceeds the maximum", () => {
    for (let attempt = 1; attempt < 40; attempt++) expect(backoffDelay(attempt, { initialMs: 100, maxMs: 1000 })).toBeLessThanOrEqual(1000);
  });
});

describe("trace context", () => {
  it("continues a valid traceparent with a new span", () => {
    const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const trace = continueTrace(parent, "vendor=1");
    expect(trace.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(trace.spanId).not.toBe("b7ad6b7169203331");
    expect(trace.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(trace.tracestate).toBe("vendor=1");
  });

  it("starts a new trace for a malformed or all-zero traceparent", () => {
    for (const bad of ["garbage", "00-00000000000000000000000000000000-b7ad6b7169203331-01", undefined]) {
      const trace = continueTrace(bad);
      expect(trace.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(trace.traceId).not.toMatch(/^0+$/);
    }
  });
});

describe("CloudEvent envelopes", () => {
  const trace = continueTrace();
  const decode = (data: Uint8Array, contentType = "application/cloudevents+json") =>
    decodeDelivery({ data, contentType, topic: "t", pubsub: "bus", messageId: "m1" });

  it("wraps data with Dapr's fields and reads it back", async () => {
    const bytes = await encodeEnvelope({ appId: "app", pubsub: "bus", topic: "t", data: { a: 1 }, trace });
    const event = decode(bytes);
    expect(event).toMatchObject({
      specversion: "1.0",
      source: "app",
      type: "com.dapr.event.sent",
      topic: "t",
      pubsubname: "bus",
      datacontenttype: "application/json",
      data: { a: 1 },
      traceparent: trace.traceparent,
      traceid: trace.traceparent,
    });
    expect(event.id).toMatch(/[0-9a-f-]{36}/);
  });

  it("carries bytes as data_base64 and returns them as bytes", async () => {
    const payload = new Uint8Array([0, 1, 2, 255]);
    const event = decode(await encodeEnvelope({ appId: "app", pubsub: "bus", topic: "t", data: payload, trace }));
    expect(event.data).toEqual(payload);
    expect(event.datacontenttype).toBe("application/octet-stream");
    expect(event).not.toHaveProperty("data_base64");
  });

  it("wraps a raw JSON payload in an event", () => {
    const event = decode(new TextEncoder().encode('{"x":1}'), "application/json");
    expect(event).toMatchObject({ id: "m1", topic: "t", pubsubname: "bus", data: { x: 1 } });
  });

  it("rejects bytes that claim to be a CloudEvent and are not", () => {
    expect(() => decode(new TextEncoder().encode('{"not":"an event"}'))).toThrow(/not a valid CloudEvent/);
  });
});

describe("base64", () => {
  it("round-trips every byte value, also past the chunk size", async () => {
    const { base64ToBytes, bytesToBase64 } = await import("../../src/core/base64.ts");
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
    const text = bytesToBase64(bytes);
    expect(text).toBe(Buffer.from(bytes).toString("base64"));
    expect(base64ToBytes(text)).toEqual(bytes);
  });
});
