/**
 * The Worker that the queues bridge runs in workerd (see queues-bridge.ts). It runs the real
 * `pubsub.cloudflare.queues` and `bindings.cloudflare.r2` components with `bindings: env`, and
 * consumes a fixed pool of real Miniflare Queues:
 *
 *   POST /pubsub/describe              { name }                     → { type, features }
 *   POST /pubsub/publish               { name, topics, request }    → { result: null } | { error }
 *   POST /bindings/<id>                { type, name, metadata }     → { type, operations }
 *   POST /bindings/<id>/invoke         { args: [request] }          → { result } | { error }
 *   POST /bindings/<id>/close          {}                           → { result: null }
 *   queue(batch)                       each message → POST to the Node test over the `MECHA_NODE`
 *                                      service binding; Node answers how to settle it
 *
 * A publish carries the proxy's current topic → producer-binding table, and the real component
 * is made with it as its `topics` metadata, so the component's own fan-out is what routes.
 * A queue message becomes an InboundMessage with the Workers adapter's own `toInboundMessage`,
 * and its `ack()` / `retry(delayMs)` run here, on the real Queue message, when Node decides.
 */
import type { Message, MessageBatch } from "@cloudflare/workers-types/index.ts";
import type { OutputBindingComponent } from "../../src/blocks/bindings.ts";
import { isQueuedMessageBody, type PublishRequest } from "../../src/blocks/pubsub.ts";
import { create as createR2Binding } from "../../src/components/bindings/cloudflare-r2.ts";
import { create as createQueuesPubSub } from "../../src/components/pubsub/cloudflare-queues.ts";
import type { ComponentOptions } from "../../src/components/types.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { toInboundMessage } from "../../adapters/workers/queue-message.ts";
import { decodeJson, encodeJson, serializeError, type BridgeResponse } from "./bridge-protocol.ts";

/**
 * The service binding through which the Worker hands each queue message to the Node test. Not
 * exported: workerd takes every named export of the main module for an entrypoint.
 */
const nodeBinding = "MECHA_NODE";

/** One queue message, as the adapter's InboundMessage sees it, on its way to Node. */
export interface QueueDelivery {
  /** The pool queue it came from. */
  queue: string;
  message: {
    id: string;
    topic: string;
    data: Uint8Array;
    contentType: string | undefined;
    metadata: Record<string, string>;
    attempt: number;
  };
}

/**
 * How Node settled a delivery. `unsettled`: the consumer went away without settling it (a
 * crash, a close); the Worker hands it back to the queue, which delivers it again.
 */
export type DeliveryDecision = { settle: "ack" } | { settle: "retry"; delayMs: number } | { settle: "unsettled" };

/** A delivery nobody settled comes back after this long, rather than in a busy loop. */
const unsettledRedeliveryMs = 1000;

/** The part of a service binding this Worker uses. */
interface NodeService {
  fetch(url: string, init: { method: "POST"; body: string; headers: Record<string, string> }): Promise<{ status: number; text(): Promise<string> }>;
}

type Env = Record<string, unknown>;

/** Lives as long as the isolate: one binding component per id, like a Worker's runtime. */
const bindings = new Map<string, OutputBindingComponent>();

const outputBindingFactories: Readonly<Record<string, (options: ComponentOptions) => OutputBindingComponent>> = {
  "bindings.cloudflare.r2": createR2Binding,
};

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const [, root, id, method] = new URL(request.url).pathname.split("/").map(decodeURIComponent);
    if (request.method !== "POST" || !id) return new Response("not found", { status: 404 });
    let body: BridgeResponse;
    try {
      const input = decodeJson<Record<string, unknown>>(await request.text());
      if (root === "pubsub" && id === "describe") body = { result: describePubSub(input, env) };
      else if (root === "pubsub" && id === "publish") body = { result: (await publish(input, env)) ?? null };
      else if (root === "bindings" && method === undefined) body = { result: createOutputBinding(id, input, env) };
      else if (root === "bindings" && method === "invoke") body = { result: await invoke(id, input) };
      else if (root === "bindings" && method === "close") body = { result: (await closeBinding(id)) ?? null };
      else return new Response("not found", { status: 404 });
    } catch (error) {
      body = { error: serializeError(error) };
    }
    return new Response(encodeJson(body), { headers: { "content-type": "application/json" } });
  },

  async queue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
    const node = env[nodeBinding] as NodeService;
    await Promise.all(batch.messages.map((message) => forward(batch.queue, message, node)));
  },
};

function queuesPubSub(name: string, topics: Record<string, string[]>, env: Env) {
  // No I/O in create: a component per publish, made with the proxy's table of the moment.
  const metadata = new ComponentMetadata({ topics: JSON.stringify(topics) }, name);
  return createQueuesPubSub({ name, appId: "bridge", baseDir: "/", metadata, bindings: env });
}

function describePubSub(input: Record<string, unknown>, env: Env) {
  const component = queuesPubSub(input["name"] as string, {}, env);
  return { type: component.type, features: component.features };
}

async function publish(input: Record<string, unknown>, env: Env): Promise<void> {
  const { name, topics, request } = input as { name: string; topics: Record<string, string[]>; request: PublishRequest };
  await queuesPubSub(name, topics, env).publish(request);
}

/**
 * One message to Node and back. The InboundMessage is the adapter's: its `ack()` and `retry()`
 * are the ones a deployed Worker would call, so the delay rounding is the adapter's too.
 */
async function forward(queue: string, message: Message<unknown>, node: NodeService): Promise<void> {
  // The adapter takes the topic from the subscription the queue feeds; here the pool queue's
  // subscription lives on the Node side, so the message's own topic stands in for it.
  const inbound = toInboundMessage(message, isQueuedMessageBody(message.body) ? message.body.topic : "");
  const delivery: QueueDelivery = {
    queue,
    message: {
      id: inbound.id,
      topic: inbound.topic,
      data: inbound.data,
      contentType: inbound.contentType,
      metadata: { ...inbound.metadata },
      attempt: inbound.attempt,
    },
  };
  let decision: DeliveryDecision;
  try {
    const response = await node.fetch("http://node/deliveries", {
      method: "POST",
      body: encodeJson(delivery),
      headers: { "content-type": "application/json" },
    });
    decision = response.status === 200 ? decodeJson<DeliveryDecision>(await response.text()) : { settle: "unsettled" };
  } catch {
    // Node is gone (the bridge is shutting down): the queue keeps the message.
    decision = { settle: "unsettled" };
  }
  if (decision.settle === "ack") await inbound.ack();
  else if (decision.settle === "retry") await inbound.retry(decision.delayMs);
  // Returning from queue() acks every message not retried, so an unsettled one is retried
  // explicitly: that is what "stays unacked and is delivered again" means on Queues.
  else await inbound.retry(unsettledRedeliveryMs);
}

function createOutputBinding(id: string, input: Record<string, unknown>, env: Env) {
  const { type, name, metadata } = input as { type: string; name: string; metadata: Record<string, string> };
  const factory = outputBindingFactories[type];
  if (!factory) throw new Error(`the queues bridge has no output binding of type "${type}"`);
  const binding = factory({ name, appId: "bridge", baseDir: "/", metadata: new ComponentMetadata(metadata, name), bindings: env });
  bindings.set(id, binding);
  return { type: binding.type, operations: binding.operations };
}

async function invoke(id: string, input: Record<string, unknown>): Promise<unknown> {
  const binding = bindings.get(id);
  if (!binding) throw new Error(`no binding "${id}" was created on the bridge`);
  const [request] = (input["args"] as Parameters<OutputBindingComponent["invoke"]>) ?? [];
  return binding.invoke(request);
}

async function closeBinding(id: string): Promise<void> {
  await bindings.get(id)?.close();
  bindings.delete(id);
}
