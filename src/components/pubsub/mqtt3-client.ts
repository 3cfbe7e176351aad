/**
 * How `pubsub.mqtt3` reaches its broker: Dapr's `url` and TLS metadata as MQTT.js options, the
 * client ids of its connections, one way to open a connection (MQTT.js loaded on first use), and
 * errors with no password in them.
 */
import { createHash } from "node:crypto";
import type { IClientOptions, MqttClient } from "mqtt";
import type { ComponentMetadata } from "../../config/metadata.ts";

export const componentType = "pubsub.mqtt3";

/** Dapr's wait for a connection, a subscription or a publish to be acknowledged. */
export const brokerWaitMs = 20_000;
/** How long a lost connection waits before it connects again (MQTT.js retries for ever). */
const reconnectPeriodMs = 1_000;
/** AWS IoT's limit, the strictest of the common brokers (Mosquitto and EMQX take 65535). */
const maxClientIdLength = 128;

/** Where the broker is and how to log in: what `url`, `caCert`, `clientCert` and `clientKey` say. */
export interface BrokerSettings {
  /** `mqtt://host:port` or `mqtts://host:port`: the url without its user info, safe to print. */
  address: string;
  protocol: "mqtt" | "mqtts";
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  keepAliveSeconds: number;
}

const schemes: Readonly<Record<string, BrokerSettings["protocol"]>> = {
  "tcp:": "mqtt",
  "mqtt:": "mqtt",
  "ssl:": "mqtts",
  "tls:": "mqtts",
  "tcps:": "mqtts",
  "mqtts:": "mqtts",
};

/**
 * Reads `url` (`tcp://[user][:password]@host[:port]`, or `ssl://` for TLS; Dapr's aliases `mqtt`,
 * `mqtts`, `tcps` and `tls` too), the PEM fields and mecha's `keepAlive`. No message quotes the
 * url: it may carry a password.
 */
export function readBrokerSettings(metadata: ComponentMetadata): BrokerSettings {
  const raw = metadata.requiredString("url");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Node's error carries the input: never passed on.
    throw metadata.error("url", 'is not a valid URL; expected "tcp://[username][:password]@host[:port]" or "ssl://…"');
  }
  const protocol = schemes[url.protocol];
  if (!protocol) {
    throw metadata.error("url", `has the scheme "${url.protocol}"; use tcp:// (or mqtt://) for plain TCP, ssl:// (or mqtts://) for TLS`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw metadata.error("url", "names no host; expected tcp://host[:port]");
  if ((url.pathname && url.pathname !== "/") || url.search || url.hash) {
    throw metadata.error("url", "must be only a scheme, user info, host and port (an MQTT url has no path or query)");
  }
  const port = url.port ? Number(url.port) : protocol === "mqtts" ? 8883 : 1883;
  const pem = (field: string): string | undefined => {
    const value = metadata.string(field);
    if (value !== undefined && !/-----BEGIN [A-Z0-9 ]+-----[\s\S]+-----END [A-Z0-9 ]+-----/.test(value)) {
      throw metadata.error(field, "must be PEM text (-----BEGIN …----- … -----END …-----)");
    }
    return value;
  };
  const [ca, cert, key] = [pem("caCert"), pem("clientCert"), pem("clientKey")];
  if (Boolean(cert) !== Boolean(key)) {
    throw metadata.error(cert ? "clientKey" : "clientCert", "is required with clientCert/clientKey: a client certificate needs its key");
  }
  if (protocol === "mqtt" && (ca || cert)) {
    throw metadata.error(ca ? "caCert" : "clientCert", "is set but url is not a TLS url; use ssl://host:port");
  }
  const keepAliveMs = metadata.durationMs("keepAlive", 30_000);
  if (keepAliveMs < 1000 || keepAliveMs > 65_535_000) throw metadata.error("keepAlive", "must be between 1s and 65535s");
  return {
    address: `${protocol}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    protocol,
    host,
    port,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    ca,
    cert,
    key,
    keepAliveSeconds: Math.round(keepAliveMs / 1000),
  };
}

/**
 * The MQTT client id of a subscription's connection: the subscription's name (mecha's are
 * `<appId>.<function>`), after `consumerID` and `:` when the component sets one. Stable, so a
 * host that comes back resumes the broker's session and gets what was published meanwhile. An id
 * over 128 characters keeps its first 111 and a hash of the whole.
 *
 * @example subscriptionClientId("shop.onOrder") // "shop.onOrder"
 * @example subscriptionClientId("shop.onOrder", "eu") // "eu:shop.onOrder"
 */
export function subscriptionClientId(subscription: string, consumerID?: string): string {
  const id = consumerID ? `${consumerID}:${subscription}` : subscription;
  if (id.length <= maxClientIdLength) return id;
  return `${id.slice(0, maxClientIdLength - 17)}-${createHash("sha256").update(id).digest("hex").slice(0, 16)}`;
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with `topic` as an MQTT topic name, or undefined when nothing is. */
export function topicProblem(topic: string): string | undefined {
  if (topic === "") return "is empty";
  if (/[+#]/.test(topic)) return "contains an MQTT wildcard (+ or #), which a topic name cannot carry";
  if (topic.startsWith("$")) return "starts with $, which MQTT keeps for the broker's own topics";
  if (topic.includes("\u0000")) return "contains a NUL character";
  if (loneSurrogate.test(topic)) return "is not valid Unicode (it has a lone surrogate)";
  if (Buffer.byteLength(topic) > 65_535) return "is longer than MQTT's 65535 bytes";
  return undefined;
}

/** What kind of session a connection opens, and what to do before it connects. */
export interface ConnectRequest {
  clientId: string;
  /** MQTT's clean session flag: true forgets the session when the connection ends. */
  clean: boolean;
  /** Set handlers (`handleMessage`) before any packet can arrive. */
  prepare?: (client: MqttClient) => void;
}

/**
 * Opens one MQTT 3.1.1 connection and resolves once the broker accepted it. A first connection
 * that fails ends the client and rejects with a password-free error; after that MQTT.js
 * reconnects on its own every second.
 */
export async function connectClient(settings: BrokerSettings, request: ConnectRequest): Promise<MqttClient> {
  let mqtt: typeof import("mqtt");
  try {
    mqtt = await import("mqtt");
  } catch (error) {
    throw new Error(`${componentType}: could not load the mqtt package; install it with "npm install mqtt"`, { cause: error });
  }
  const options: IClientOptions = {
    protocol: settings.protocol,
    host: settings.host,
    port: settings.port,
    username: settings.username,
    password: settings.password,
    ca: settings.ca,
    cert: settings.cert,
    key: settings.key,
    clientId: request.clientId,
    clean: request.clean,
    protocolVersion: 4,
    keepalive: settings.keepAliveSeconds,
    reconnectPeriod: reconnectPeriodMs,
    connectTimeout: brokerWaitMs,
    queueQoSZero: false,
    manualConnect: true,
  };
  const client = mqtt.connect(options);
  request.prepare?.(client);
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      client.off("connect", connected);
      client.off("error", done);
      client.off("close", closed);
      if (!error) return resolve();
      client.end(true);
      reject(safeMqttError(error, settings));
    };
    const connected = () => done();
    const closed = () => done(new Error("the connection closed before the broker accepted it"));
    client.on("connect", connected);
    client.on("error", done);
    client.on("close", closed);
    client.connect();
  });
  return client;
}

/**
 * An MQTT.js or socket error as a new Error that is safe to show: its name, code and message,
 * with the url's password blanked out, and no cause that could hold it.
 */
export function safeMqttError(error: unknown, settings: Pick<BrokerSettings, "password">): Error {
  const failure = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
  const code = typeof failure.code === "string" || typeof failure.code === "number" ? String(failure.code) : undefined;
  const message = typeof failure.message === "string" ? failure.message.trim() : "";
  // Node's AggregateError for a refused connection to a name with several addresses has no message.
  let text = message || (code ? `${code}: could not reach the broker` : "unknown error");
  if (code && message && !message.includes(code)) text = `${message} (${code})`;
  const secret = settings.password;
  if (secret) text = text.split(secret).join("<redacted>").split(encodeURIComponent(secret)).join("<redacted>");
  const safe = new Error(text);
  safe.name = typeof failure.name === "string" ? failure.name : "Error";
  return safe;
}
