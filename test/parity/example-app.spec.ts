/**
 * The example app's behaviour, written once. Every target's driver must pass it unchanged:
 * HTTP requests in; responses, state and delivered events (observed through the app's routes) out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshName, waitFor } from "../support/wait.ts";
import type { ParityDriver } from "./driver.ts";

export function describeExampleAppParity(driver: ParityDriver): void {
  describe(`example app on ${driver.target}`, () => {
    beforeAll(() => driver.start(), 60_000);
    afterAll(() => driver.stop());

    const orderStatus = async (id: string, status: string) => {
      const response = await driver.request("GET", `/orders/${id}`);
      return response.status === 200 && response.json.status === status ? response : undefined;
    };

    it("places an order: 201 with its id and an etag", async () => {
      const id = freshName("order");
      const response = await driver.request("POST", "/orders", { id, item: "book", quantity: 2 });
      expect(response.status).toBe(201);
      expect(response.json).toEqual({ id, etag: expect.any(String) });
      expect(response.json.etag.length).toBeGreaterThan(0);
    });

    it("refuses to place the same order id twice (first write wins)", async () => {
      const id = freshName("order");
      expect((await driver.request("POST", "/orders", { id, item: "pen", quantity: 1 })).status).toBe(201);
      const again = await driver.request("POST", "/orders", { id, item: "other", quantity: 9 });
      expect(again.status).toBe(409);
      expect(again.json.errorCode).toBe("ERR_ORDER_EXISTS");
      const stored = await driver.request("GET", `/orders/${id}`);
      expect(stored.json.item).toBe("pen");
    });

    it("answers a repeated identical order idempotently with 200 and the stored etag", async () => {
      const id = freshName("order");
      const first = await driver.request("POST", "/orders", { id, item: "cup", quantity: 4 });
      const again = await driver.request("POST", "/orders", { id, item: "cup", quantity: 4 });
      expect(first.status).toBe(201);
      expect(again.status).toBe(200);
      expect(again.json.id).toBe(id);
      await waitFor(() => orderStatus(id, "fulfilled"), { timeoutMs: 15_000, what: `order ${id} fulfilled` });
    });

    it("fulfils a placed order through the subscriber and writes a signed receipt", async () => {
      const id = freshName("order");
      await driver.request("POST", "/orders", { id, item: "lamp", quantity: 3 });
      const fulfilled = await waitFor(() => orderStatus(id, "fulfilled"), { timeoutMs: 15_000, what: `order ${id} fulfilled` });
      expect(fulfilled.json).toMatchObject({ id, item: "lamp", quantity: 3, receipt: `${id}.json` });
      const receipt = await driver.request("GET", `/orders/${id}/receipt`);
      expect(receipt.status).toBe(200);
      expect(receipt.json).toMatchObject({ orderId: id, item: "lamp", quantity: 3 });
      expect(receipt.json.signature).toMatch(/^[0-9a-f]{64}$/);
    });

    it("dead-letters a bad order, which then shows as rejected, with no receipt", async () => {
      const id = freshName("order");
      expect((await driver.request("POST", "/orders", { id, item: "ghost", quantity: 0 })).status).toBe(201);
      const rejected = await waitFor(() => orderStatus(id, "rejected"), { timeoutMs: 15_000, what: `order ${id} rejected` });
      expect(rejected.json.receipt).toBeUndefined();
      const receipt = await driver.request("GET", `/orders/${id}/receipt`);
      expect(receipt.status).toBe(404);
      expect(receipt.json.errorCode).toBe("ERR_NOT_FOUND");
    });

    it("answers 404 with a JSON error for a missing order", async () => {
      const response = await driver.request("GET", `/orders/${freshName("missing")}`);
      expect(response.status).toBe(404);
      expect(response.json).toMatchObject({ errorCode: "ERR_NOT_FOUND", message: expect.any(String) });
    });

    it("answers 400 with a JSON error for a malformed JSON body, and keeps serving", async () => {
      const response = await driver.request("POST", "/orders", "{ not json");
      expect(response.status).toBe(400);
      expect(response.json).toEqual({ errorCode: "ERR_MALFORMED_REQUEST", message: expect.any(String) });
      expect(response.text).not.toMatch(/at .*\.ts:\d+/);
      const next = await driver.request("POST", "/orders", { id: freshName("order"), item: "ok", quantity: 1 });
      expect(next.status).toBe(201);
    });

    it("answers 400 for an order without a usable id", async () => {
      const response = await driver.request("POST", "/orders", { id: "no spaces or / allowed", item: "x", quantity: 1 });
      expect(response.status).toBe(400);
      expect(response.json.errorCode).toBe("ERR_BAD_ORDER");
    });

    it("answers 404 with a JSON error for a route no function serves", async () => {
      const response = await driver.request("DELETE", "/nothing/here");
      expect(response.status).toBe(404);
      expect(response.json.errorCode).toBe("ERR_NOT_FOUND");
    });

    it("answers 413 for a body over the limit, and keeps serving", async () => {
      const big = JSON.stringify({ id: freshName("big"), item: "x".repeat(5 * 1024 * 1024), quantity: 1 });
      const response = await driver.request("POST", "/orders", big);
      expect(response.status).toBe(413);
      expect(response.json.errorCode).toBe("ERR_REQUEST_TOO_LARGE");
      expect((await driver.request("GET", "/sweep")).status).toBe(200);
    });
  });
}
