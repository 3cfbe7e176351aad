/**
 * The baseline Worker: bare Hono serving the example app's HTTP routes with the platform's own
 * bindings (a Durable Object's storage, a Queue producer, R2) and no mecha in between.
 */
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import type { DurableObjectNamespace, Queue, R2Bucket } from "@cloudflare/workers-types/index.ts";

interface Env {
  ORDERS: DurableObjectNamespace<Orders>;
  PLACED: Queue;
  RECEIPTS: R2Bucket;
}

export class Orders extends DurableObject {
  async get(key: string): Promise<unknown> {
    return this.ctx.storage.get(key);
  }
  async putIfAbsent(key: string, value: unknown): Promise<boolean> {
    if ((await this.ctx.storage.get(key)) !== undefined) return false;
    await this.ctx.storage.put(key, value);
    return true;
  }
}

const app = new Hono<{ Bindings: Env }>();
const orders = (env: Env) => env.ORDERS.get(env.ORDERS.idFromName("orders"));

app.post("/orders", async (c) => {
  const order = await c.req.json<{ id: string }>();
  if (!(await orders(c.env).putIfAbsent(order.id, { ...order, status: "placed" }))) return c.json({ error: "exists" }, 409);
  await c.env.PLACED.send(order);
  return c.json({ id: order.id }, 201);
});
app.get("/orders/:id", async (c) => {
  const order = await orders(c.env).get(c.req.param("id"));
  return order ? c.json(order) : c.json({ error: "not found" }, 404);
});
app.get("/orders/:id/receipt", async (c) => {
  const object = await c.env.RECEIPTS.get(`${c.req.param("id")}.json`);
  return object ? new Response(object.body) : c.json({ error: "not found" }, 404);
});
app.get("/sweep", async (c) => c.json(await orders(c.env).get("sweep:stats")));

export default { fetch: app.fetch };
