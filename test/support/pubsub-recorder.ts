/** Small pieces pub/sub component tests share: text payloads, and a subscription that records. */
import type { InboundMessage, PubSubComponent, SubscribeRequest } from "../../src/blocks/pubsub.ts";

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);

/** Publishes `body` as text/plain. */
export const publishText = (bus: PubSubComponent, topic: string, body: string, metadata?: Record<string, string>) =>
  bus.publish({ topic, data: bytes(body), contentType: "text/plain", metadata });

/** Subscribes with a deliver function that records each delivery and settles it with `settle`. */
export async function record(
  bus: PubSubComponent,
  request: Omit<SubscribeRequest, "deliver">,
  settle: (message: InboundMessage, index: number) => Promise<void> | void = (m) => m.ack(),
) {
  const seen: Array<{ message: InboundMessage; at: number }> = [];
  const active = await bus.subscribe({
    ...request,
    deliver: async (message) => {
      seen.push({ message, at: Date.now() });
      await settle(message, seen.length - 1);
    },
  });
  return { seen, active, bodies: () => seen.map((s) => text(s.message.data)), attempts: () => seen.map((s) => s.message.attempt) };
}
