/**
 * `pubsub.mqtt3`: Dapr's MQTT 3.1.1 pub/sub, on MQTT.js (loaded on first use).
 *
 * Each subscription is its own MQTT connection whose client id is the subscription's name (after
 * `consumerID:` when set), with a persistent session (`cleanSession` false, Dapr's default) and
 * QoS 1: the broker keeps the subscription and queues its messages while the host is down, and
 * a message is acknowledged (PUBACK) only once the pipeline has acked it. The delivery rules are
 * in mqtt3-consumer.ts; connections, urls and error redaction in mqtt3-client.ts.
 *
 * Publishing uses one more connection, with a clean session and a random client id. A publish
 * resolves when the broker has acknowledged it (QoS 1 and 2) or the bytes are written (QoS 0).
 *
 * Topics are MQTT topic names as they are: `.` and `/` pass unchanged (`/` separates MQTT topic
 * levels), while a topic with `+` or `#`, a leading `$`, or a NUL is rejected, never escaped, so
 * other MQTT clients see the same names. MQTT 3 messages carry bytes only: a published content
 * type and metadata do not travel (only Dapr's `retain` is read from the metadata).
 */
import { randomUUID } from "node:crypto";
import type { MqttClient } from "mqtt";
import {
  subscriptionConcurrency,
  type ActiveSubscription,
  type PubSubComponent,
  type PubSubFeature,
  type PublishRequest,
  type SubscribeRequest,
} from "../../blocks/pubsub.ts";
import { ErrorCodes, InvalidRequestError, MechaError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";
import {
  brokerWaitMs,
  componentType as type,
  connectClient,
  readBrokerSettings,
  safeMqttError,
  subscriptionClientId,
  topicProblem,
  type BrokerSettings,
} from "./mqtt3-client.ts";
import { startConsumer } from "./mqtt3-consumer.ts";

interface Settings {
  broker: BrokerSettings;
  qos: 0 | 1 | 2;
  retain: boolean;
  cleanSession: boolean;
  /** Set only when the metadata sets it: then it prefixes every subscription's client id. */
  consumerID: string | undefined;
}

/**
 * Creates a `pubsub.mqtt3` component. Reads Dapr's metadata: `url` (required:
 * `tcp://[username][:password]@host[:port]`, `ssl://…` for TLS), `qos` (0, 1 or 2, default 1),
 * `retain` (default false; a publish's `retain` metadata overrides it), `cleanSession` (default
 * false), `consumerID` (prefixes each subscription's client id), `caCert`, `clientCert`,
 * `clientKey` (PEM), and mecha's `keepAlive` (default `30s`). Does no I/O: connections open on
 * first publish and on each subscribe.
 *
 * @example
 * // spec: { type: pubsub.mqtt3, version: v1, metadata: [{ name: url, value: "tcp://127.0.0.1:1883" }] }
 */
export function create(options: ComponentOptions): PubSubComponent {
  const settings = readSettings(options);
  const { name: component } = options;
  const log = options.logger?.child({ component });
  const subscriptions = new Map<string, ActiveSubscription>();
  let publisher: Promise<MqttClient> | undefined;
  let closed = false;
  // Without QoS ≥ 1 and a persistent session the broker keeps nothing for an absent host.
  const features: PubSubFeature[] = settings.qos >= 1 && !settings.cleanSession ? ["durable", "delayedRetry"] : ["delayedRetry"];

  const connectPublisher = (): Promise<MqttClient> => {
    if (closed) return Promise.reject(new Error(`${type} component "${component}" is closed`));
    publisher ??= connectClient(settings.broker, {
      clientId: `${settings.consumerID ?? options.appId}:publisher:${randomUUID().slice(0, 8)}`,
      clean: true,
      // A failed first connection is the publish's error; later ones (MQTT.js reconnects) are logged.
      prepare: (client) =>
        client.on("error", (error) => {
          if (client.connected || client.reconnecting) log?.warn("MQTT publisher connection error", { error: safeMqttError(error, settings.broker) });
        }),
    }).catch((error: unknown) => {
      publisher = undefined;
      throw error;
    });
    return publisher;
  };

  return {
    type,
    features,

    async publish(request: PublishRequest) {
      const failed = (reason: string) =>
        new MechaError(ErrorCodes.publish, `${type}: could not publish to topic "${request.topic}" at ${settings.broker.address}: ${reason}`, {
          component,
        });
      checkTopic(request.topic, component);
      const retain = retainOf(request, settings.retain, component);
      try {
        const client = await connectPublisher();
        await publishAcknowledged(client, request.topic, request.data, { qos: settings.qos, retain });
      } catch (error) {
        throw failed(safeMqttError(error, settings.broker).message);
      }
    },

    async subscribe(request: SubscribeRequest): Promise<ActiveSubscription> {
      if (closed) throw new Error(`${type} component "${component}" is closed`);
      // Accepted and checked, but a subscription handles one message at a time (see mqtt3-consumer.ts).
      subscriptionConcurrency(request, type);
      checkTopic(request.topic, component);
      const clientId = subscriptionClientId(request.subscription, settings.consumerID);
      if (subscriptions.has(clientId)) {
        // Two connections with one client id would take the session from each other for ever.
        throw new InvalidRequestError(`${type}: subscription "${request.subscription}" is already active in component "${component}"`, { component });
      }
      const placeholder: ActiveSubscription = { close: async () => {} };
      subscriptions.set(clientId, placeholder);
      try {
        const active = await startConsumer({
          request,
          settings: settings.broker,
          clientId,
          // QoS 2's state lives in MQTT.js's memory, so a crash after PUBREC would lose the
          // message: subscriptions use QoS 1, whose PUBACK waits for the handler.
          qos: settings.qos === 0 ? 0 : 1,
          clean: settings.cleanSession,
          log,
        });
        if (closed) {
          // The component closed while this subscription was connecting.
          await active.close();
          throw new Error(`${type} component "${component}" is closed`);
        }
        let closing: Promise<void> | undefined;
        const subscription: ActiveSubscription = {
          close: () => (closing ??= active.close().finally(() => subscriptions.delete(clientId))),
        };
        subscriptions.set(clientId, subscription);
        return subscription;
      } catch (error) {
        subscriptions.delete(clientId);
        throw error;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions.values()].map((s) => s.close()));
      const client = await publisher?.catch(() => undefined);
      if (client) await new Promise<void>((resolve) => client.end(false, () => resolve()));
    },
  };
}

function readSettings({ metadata }: ComponentOptions): Settings {
  return {
    broker: readBrokerSettings(metadata),
    qos: metadata.integer("qos", 1, { min: 0, max: 2 }) as 0 | 1 | 2,
    retain: metadata.boolean("retain", false),
    cleanSession: metadata.boolean("cleanSession", false),
    consumerID: metadata.string("consumerID"),
  };
}

function checkTopic(topic: string, component: string): void {
  const problem = topicProblem(topic);
  if (problem) throw new InvalidRequestError(`${type}: topic ${JSON.stringify(topic)} ${problem}`, { component });
}

/** Dapr's per-publish `retain` metadata, else the component's. */
function retainOf(request: PublishRequest, fallback: boolean, component: string): boolean {
  const raw = request.metadata?.["retain"];
  if (raw === undefined || raw === "") return fallback;
  if (/^(true|1)$/i.test(raw)) return true;
  if (/^(false|0)$/i.test(raw)) return false;
  throw new InvalidRequestError(`${type}: publish metadata "retain" must be true or false, got ${JSON.stringify(raw)}`, { component });
}

/** Publishes and waits for the broker's acknowledgement, at most Dapr's 20 s. */
function publishAcknowledged(client: MqttClient, topic: string, data: Uint8Array, options: { qos: 0 | 1 | 2; retain: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the broker did not acknowledge the message within ${brokerWaitMs} ms`)), brokerWaitMs);
    client.publish(topic, Buffer.from(data.buffer, data.byteOffset, data.byteLength), options, (error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    });
  });
}
