/**
 * `pubsub.rabbitmq`: Dapr's RabbitMQ model — a durable exchange per topic (fanout by default)
 * named after the topic, and a queue per subscription bound to it. The queue is named after the
 * subscription's durable name (Dapr names it `<consumerID>-<topic>`), so each subscription keeps
 * its own delivery state and every host of one subscription consumes the same queue: the broker
 * shares the messages out among them.
 *
 * Publishing waits for the broker's publisher confirm: `publish()` resolves once the broker has
 * the message. A message goes out persistent (deliveryMode 2) with a fresh `messageId`, the
 * content type as its `contentType` property, and the publish metadata as headers, except Dapr's
 * instructions `routingKey`, `ttlInSeconds` and `priority`, which become the routing key, the
 * expiration and the priority.
 *
 * Consuming is manual-ack with a prefetch of the subscription's concurrency (or `prefetchCount`
 * when lower); retries, attempts and reconnection are described in rabbitmq-consumer.ts. Queues
 * are quorum queues unless the settings ask for what only a classic queue does (not durable,
 * deleted when unused) or `queueType` says "classic". The client, amqplib, is loaded on first use,
 * and one connection serves the component: a channel for publishing and one per subscription.
 */
import { randomUUID } from "node:crypto";
import type { ChannelModel, ConfirmChannel, Options } from "amqplib";
import { subscriptionConcurrency, type ActiveSubscription, type PubSubComponent, type PublishRequest, type SubscribeRequest } from "../../blocks/pubsub.ts";
import type { Logger } from "../../core/logger.ts";
import { ComponentConfigError, ErrorCodes, InvalidRequestError, MechaError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";
import { Consumer, publishConfirmed } from "./rabbitmq-consumer.ts";
import { deadLetterNames, exchangeName, queueName, readSettings, safeAmqpError, type Settings, type } from "./rabbitmq-settings.ts";

/** AMQP's reply code for a declaration that does not match what exists (PRECONDITION_FAILED). */
const preconditionFailed = 406;
/** AMQP's reply code for a publish to an exchange that is gone (NOT_FOUND). */
const notFound = 404;
/** The longest message TTL RabbitMQ takes (its expiration is at most 2^31 - 1 ms). */
const maxTtlSeconds = Math.floor((2 ** 31 - 1) / 1000);

interface Publisher {
  channel: ConfirmChannel;
  /** The exchanges declared on this channel. */
  exchanges: Set<string>;
  /** Why the broker closed the channel, if it did: a publish it kills only learns "channel closed". */
  closedBy?: Error & { code?: unknown };
}

/**
 * Creates a `pubsub.rabbitmq` component from Dapr's metadata: `connectionString` (or `protocol`,
 * `hostname`, `username`, `password`), `durable`, `deletedWhenUnused`, `deliveryMode`,
 * `prefetchCount`, `concurrencyMode`, `reconnectWait`, `enableDeadLetter`, `maxLen`,
 * `maxLenBytes`, `exchangeKind`, `ttlInSeconds`, `clientName`, `heartBeat`, `caCert`/`clientCert`/
 * `clientKey`, `saslExternal`, and `queueType` (Dapr's subscription field, here for the
 * component). docs/components/pubsub.rabbitmq.md lists what each does and what is ignored.
 *
 * @example
 * // spec: { type: pubsub.rabbitmq, version: v1, metadata: [{ name: connectionString, value: "amqp://guest:guest@localhost:5672" }] }
 */
export function create(options: ComponentOptions): PubSubComponent {
  const settings = readSettings(options);
  const { name: component } = options;
  const log = options.logger?.child({ component });
  const safe = (error: unknown) => safeAmqpError(error, settings.secrets);
  const consumers = new Set<Consumer>();
  let connection: Promise<ChannelModel> | undefined;
  let publisher: Promise<Publisher> | undefined;
  let closing: Promise<void> | undefined;
  let closed = false;

  /** The component's one connection: opened on first use, and again after it was lost. */
  const connect = (): Promise<ChannelModel> => {
    if (closed) return Promise.reject(new Error(`${type} component "${component}" is closed`));
    if (!connection) {
      const opening: Promise<ChannelModel> = open(settings, log, safe, () => {
        if (connection === opening) connection = undefined;
      });
      connection = opening;
      opening.catch(() => {
        if (connection === opening) connection = undefined;
      });
    }
    return connection;
  };

  const channel = async (): Promise<ConfirmChannel> => {
    const opened = await (await connect()).createConfirmChannel();
    // A channel the broker closes (a failed declaration, a missing exchange) reports it here;
    // the call that caused it fails with the same error.
    opened.on("error", (error: unknown) => log?.debug("RabbitMQ closed a channel", { error: safe(error) }));
    return opened;
  };

  const publisherChannel = (): Promise<Publisher> => {
    if (!publisher) {
      const opening: Promise<Publisher> = channel().then((opened) => {
        const made: Publisher = { channel: opened, exchanges: new Set<string>() };
        opened.once("error", (error: Error) => (made.closedBy = error));
        opened.once("close", () => {
          if (publisher === opening) publisher = undefined;
        });
        return made;
      });
      publisher = opening;
      opening.catch(() => {
        if (publisher === opening) publisher = undefined;
      });
    }
    return publisher;
  };

  const send = async (request: PublishRequest, routingKey: string, properties: Options.Publish): Promise<void> => {
    const current = await publisherChannel();
    const exchange = exchangeName(request.topic);
    try {
      if (!current.exchanges.has(exchange)) {
        await current.channel.assertExchange(exchange, settings.exchangeKind, { durable: true });
        current.exchanges.add(exchange);
      }
      const content = Buffer.from(request.data.buffer, request.data.byteOffset, request.data.byteLength);
      await publishConfirmed(current.channel, exchange, routingKey, content, properties);
    } catch (error) {
      throw current.closedBy ?? error;
    }
  };

  return {
    type,
    features: durableQueues(settings) ? (["durable", "delayedRetry"] as const) : (["delayedRetry"] as const),

    async publish(request: PublishRequest) {
      const { routingKey, properties } = publishProperties(request, settings, component);
      try {
        try {
          await send(request, routingKey, properties);
        } catch (error) {
          // The exchange was deleted since this channel declared it (which closed the channel):
          // a new channel declares it again.
          if ((error as { code?: unknown }).code !== notFound) throw error;
          await send(request, routingKey, properties);
        }
      } catch (error) {
        const cause = safe(error);
        throw new MechaError(ErrorCodes.publish, `${type}: could not publish to topic "${request.topic}" at ${settings.where}: ${cause.message}`, {
          component,
          cause,
        });
      }
    },

    async subscribe(request: SubscribeRequest): Promise<ActiveSubscription> {
      const concurrency = settings.single ? 1 : subscriptionConcurrency(request, type);
      const prefetch = settings.prefetchCount > 0 ? Math.min(settings.prefetchCount, concurrency) : concurrency;
      const queue = queueName(request.subscription);
      const consumer = new Consumer({
        request,
        queue,
        concurrency,
        reconnectWaitMs: settings.reconnectWaitMs,
        persistent: settings.persistent,
        safeError: safe,
        log: log?.child({ subscription: request.subscription, topic: request.topic }),
        open: async () => {
          const opened = await channel();
          try {
            await declareSubscription(opened, settings, request.topic, queue);
            await opened.prefetch(prefetch);
          } catch (error) {
            await opened.close().catch(() => {});
            throw error;
          }
          return opened;
        },
      });
      try {
        await consumer.start();
      } catch (error) {
        const cause = safe(error);
        const message = `${type}: could not subscribe "${request.subscription}" to topic "${request.topic}" at ${settings.where}: ${cause.message}`;
        if ((cause as { code?: unknown }).code === preconditionFailed) {
          throw new ComponentConfigError(`${message} — a queue or exchange of that name exists with other settings: delete it or match them`, {
            component,
            cause,
          });
        }
        throw new Error(message, { cause });
      }
      consumers.add(consumer);
      return { close: () => consumer.close().finally(() => consumers.delete(consumer)) };
    },

    close() {
      closing ??= (async () => {
        // Consumers first, while the connection still serves their acks, retries and dead letters.
        await Promise.all([...consumers].map((consumer) => consumer.close()));
        closed = true;
        const opened = await publisher?.catch(() => undefined);
        await opened?.channel.close().catch(() => {});
        const model = await connection?.catch(() => undefined);
        await model?.close().catch(() => {});
      })();
      return closing;
    },
  };
}

/** Connects, and reports the connection's troubles to the log; `onClose` runs when it is gone. */
async function open(settings: Settings, log: Logger | undefined, safe: (error: unknown) => Error, onClose: () => void): Promise<ChannelModel> {
  const amqp = await import("amqplib").catch((error: unknown) => {
    throw new Error('could not load amqplib; install it with "npm install amqplib"', { cause: error });
  });
  const model = await amqp.connect(settings.connect, settings.socket);
  model.on("error", (error: unknown) => log?.warn("RabbitMQ connection failed", { error: safe(error) }));
  model.on("blocked", (reason: string) => log?.warn(`RabbitMQ blocked the connection (${reason}); publishing waits until it is unblocked`));
  model.on("unblocked", () => log?.info("RabbitMQ unblocked the connection"));
  model.once("close", (error?: unknown) => {
    if (error) log?.warn("lost the connection to RabbitMQ", { error: safe(error) });
    onClose();
  });
  return model;
}

/**
 * The topic's exchange, the subscription's queue bound to it with the empty routing key (Dapr's
 * default), and with `enableDeadLetter` the queue's `dlx-`/`dlq-` pair, which receives what the
 * queue drops (expired messages, and the oldest beyond `maxLen`/`maxLenBytes`).
 */
async function declareSubscription(channel: ConfirmChannel, settings: Settings, topic: string, queue: string): Promise<void> {
  const { durable, autoDelete, type: queueType, maxLen, maxLenBytes, deadLetter } = settings.queue;
  const exchange = exchangeName(topic);
  await channel.assertExchange(exchange, settings.exchangeKind, { durable: true });
  const limits = {
    ...(maxLen > 0 ? { "x-max-length": maxLen } : {}),
    ...(maxLenBytes > 0 ? { "x-max-length-bytes": maxLenBytes } : {}),
  };
  const args: Record<string, unknown> = { ...limits, ...(queueType === "quorum" ? { "x-queue-type": "quorum" } : {}) };
  if (deadLetter) {
    const dead = deadLetterNames(queue);
    await channel.assertExchange(dead.exchange, "fanout", { durable: true });
    await channel.assertQueue(dead.queue, { durable: true, autoDelete, arguments: limits });
    await channel.bindQueue(dead.queue, dead.exchange, "");
    args["x-dead-letter-exchange"] = dead.exchange;
  }
  await channel.assertQueue(queue, { durable, autoDelete, arguments: args });
  await channel.bindQueue(queue, exchange, "");
}

/** A message waits for a consumer across host restarts only in a durable queue that stays, and across broker restarts only on disk. */
function durableQueues({ queue, persistent }: Settings): boolean {
  return queue.durable && !queue.autoDelete && (persistent || queue.type === "quorum");
}

/** The routing key and AMQP properties of a publish; Dapr's instructions are taken out of the headers. */
function publishProperties(request: PublishRequest, settings: Settings, component: string): { routingKey: string; properties: Options.Publish } {
  const { routingKey = "", ttlInSeconds, priority, ...headers } = request.metadata ?? {};
  const whole = (field: string, raw: string, min: number, max: number) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidRequestError(`${type}: publish metadata "${field}" must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`, {
        component,
      });
    }
    return value;
  };
  const ttlMs = ttlInSeconds !== undefined ? whole("ttlInSeconds", ttlInSeconds, 1, maxTtlSeconds) * 1000 : settings.defaultTtlMs;
  return {
    routingKey,
    properties: {
      contentType: request.contentType,
      messageId: randomUUID(),
      timestamp: Math.floor(Date.now() / 1000),
      deliveryMode: settings.persistent ? 2 : 1,
      headers,
      ...(ttlMs !== undefined ? { expiration: String(ttlMs) } : {}),
      ...(priority !== undefined ? { priority: whole("priority", priority, 0, 255) } : {}),
    },
  };
}
