/**
 * The example app: an order flow that uses every building block. The same file runs on Node,
 * AWS Lambda and Cloudflare Workers; only the resources folder changes.
 */
import { EtagMismatchError, http, subscribe, type Context } from "mecha";

export interface Order {
  id: string;
  item: string;
  quantity: number;
  status?: "placed" | "fulfilled" | "rejected";
  receipt?: string;
}

/**
 * POST /orders — store the order (first write wins: an id is placed once) and announce it.
 * Placing the same order again is answered 200 (a retry); another order under a taken id, 409.
 */
export const placeOrder = http("POST /orders", async (req, ctx) => {
  const body = (await req.json()) as Partial<Order>;
  if (typeof body?.id !== "string" || !/^[\w.-]{1,64}$/.test(body.id)) {
    return Response.json({ errorCode: "ERR_BAD_ORDER", message: "order.id must be 1-64 letters, digits, '.', '_' or '-'" }, { status: 400 });
  }
  const order = { ...body, status: "placed" } as Order;
  try {
    const { etag } = await ctx.state("orders").set(order.id, order, { concurrency: "first-write" });
    await ctx.publish("orderbus", "orders.placed", order);
    return Response.json({ id: order.id, etag }, { status: 201 });
  } catch (error) {
    if (!(error instanceof EtagMismatchError)) throw error;
    // The same order again is a client's retry (perhaps after a failed publish): answer it
    // idempotently, and announce it again while it is still waiting to be fulfilled.
    const existing = await ctx.state("orders").get<Order>(order.id);
    if (!existing || existing.value.item !== order.item || existing.value.quantity !== order.quantity) {
      return Response.json({ errorCode: "ERR_ORDER_EXISTS", message: `order ${order.id} already exists` }, { status: 409 });
    }
    if (existing.value.status === "placed") await ctx.publish("orderbus", "orders.placed", existing.value);
    return Response.json({ id: order.id, etag: existing.etag }, { status: 200 });
  }
});

/** GET /orders/:id — the order and its status. */
export const getOrder = http("GET /orders/:id", async (_req, ctx) => {
  const entry = await ctx.state("orders").get<Order>(ctx.params.id!);
  if (!entry) return Response.json({ errorCode: "ERR_NOT_FOUND", message: `no order ${ctx.params.id}` }, { status: 404 });
  return Response.json(entry.value, { headers: { etag: entry.etag } });
});

/** GET /orders/:id/receipt — the receipt the fulfilment wrote through the receipts binding. */
export const getReceipt = http("GET /orders/:id/receipt", async (_req, ctx) => {
  const order = await ctx.state("orders").get<Order>(ctx.params.id!);
  if (!order?.value.receipt) {
    return Response.json({ errorCode: "ERR_NOT_FOUND", message: `no receipt for order ${ctx.params.id} (yet)` }, { status: 404 });
  }
  const { data } = await ctx.binding("receipts").invoke("get", undefined, { key: order.value.receipt });
  return new Response(data as Uint8Array, { headers: { "content-type": "application/json" } });
});

/**
 * Fulfil placed orders: write a signed receipt through the receipts binding and mark the order
 * fulfilled. A bad order can never succeed, so it is dropped to the dead-letter topic at once;
 * any other failure throws and is retried with backoff.
 */
export const fulfil = subscribe<Order>(
  { pubsub: "orderbus", topic: "orders.placed", deadLetterTopic: "orders.dead", maxRetries: 5 },
  async (event, ctx) => {
    // Published data is untrusted input: check it rather than believe the type.
    const order = event.data as Partial<Order> | undefined;
    if (!isValidOrder(order)) {
      ctx.log.warn("rejecting a bad order", { id: order?.id });
      return "drop";
    }
    const receipt = { orderId: order.id, item: order.item, quantity: order.quantity, issuedAt: new Date().toISOString() };
    const signature = await sign(ctx, JSON.stringify(receipt));
    await ctx.binding("receipts").invoke("create", { ...receipt, signature }, { key: `${order.id}.json` });
    await updateOrder(ctx, order.id, (current) => ({ ...current, status: "fulfilled", receipt: `${order.id}.json` }));
  },
);

/** Orders that could not be fulfilled end here: mark them rejected so GET /orders/:id says so. */
export const rejectDeadOrders = subscribe<Order>({ pubsub: "orderbus", topic: "orders.dead" }, async (event, ctx) => {
  if (typeof event.data?.id !== "string") return "drop";
  await updateOrder(ctx, event.data.id, (current) => ({ ...current, status: "rejected" }));
});

function isValidOrder(order: Partial<Order> | undefined): order is Order {
  return (
    typeof order?.id === "string" &&
    typeof order.item === "string" &&
    order.item.length > 0 &&
    typeof order.quantity === "number" &&
    Number.isInteger(order.quantity) &&
    order.quantity > 0
  );
}

/** Read-modify-write guarded by the etag, retried when another writer got there first. */
async function updateOrder(ctx: Context, id: string, change: (order: Order) => Order): Promise<void> {
  const orders = ctx.state("orders");
  for (let attempt = 0; attempt < 10; attempt++) {
    const entry = await orders.get<Order>(id);
    if (!entry) return;
    try {
      await orders.set(id, change(entry.value), { etag: entry.etag });
      return;
    } catch (error) {
      if (!(error instanceof EtagMismatchError)) throw error;
    }
  }
  throw new Error(`order ${id} kept changing; giving up this attempt`);
}

/** HMAC-SHA256 with the receipt key from the secret store (Web Crypto: the same on every platform). */
async function sign(ctx: Context, text: string): Promise<string> {
  const { "receipt-signing-key": secret } = await ctx.secret("secrets", "receipt-signing-key");
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}
