/** The resources folder, parsed: Dapr `Component` and `Subscription` documents. */

export interface MetadataEntry {
  name: string;
  value?: string;
  /** A secret from this component's secret store (`auth.secretStore`). */
  secretKeyRef?: { name: string; key?: string };
  /** An environment variable's value. */
  envRef?: string;
}

export interface ComponentSpec {
  name: string;
  /** Dapr's `spec.type`, e.g. `state.sqlite`. */
  type: string;
  version: string;
  metadata: MetadataEntry[];
  /** `auth.secretStore`: where `secretKeyRef`s are resolved. */
  secretStore?: string;
  /** App ids that may use this component; empty = every app. */
  scopes: string[];
  /** The YAML file it came from, for error messages. */
  file?: string;
}

export interface SubscriptionSpec {
  name: string;
  pubsub: string;
  topic: string;
  /**
   * The HTTP function path each event is delivered to (v1alpha1 `route`, v2alpha1 `routes.default`);
   * with `rules`, the path of events no rule matches. Unset only when there are rules: an event
   * no rule matches is then acked, or dead-lettered when there is a `deadLetterTopic`.
   */
  route?: string;
  /** v2alpha1 `routes.rules`, in order: the first rule whose CEL `match` is true picks the path. */
  rules?: SubscriptionRouteRule[];
  deadLetterTopic?: string;
  /** `metadata.rawPayload` in the subscription's metadata. */
  rawPayload: boolean;
  scopes: string[];
  file?: string;
}

/** One of Dapr's `spec.routes.rules`. */
export interface SubscriptionRouteRule {
  /** A CEL expression over `event` (the CloudEvent); unset or empty matches every event, as in Dapr. */
  match?: string;
  /** The HTTP function path a matching event is delivered to. */
  path: string;
}

export interface Resources {
  components: ComponentSpec[];
  subscriptions: SubscriptionSpec[];
  /** Dapr `Resiliency` documents; absent = none (see docs/resiliency.md). */
  resiliencies?: ResiliencySpec[];
}

/** The policies a Resiliency target names; a missing one means none of that kind. */
export interface ResiliencyPolicyNames {
  timeout?: string;
  retry?: string;
  circuitBreaker?: string;
}

/** A named retry policy (`spec.policies.retries.<name>`), durations in milliseconds. */
export interface RetryPolicySpec {
  policy: "constant" | "exponential";
  /** constant: the wait between attempts (Dapr's default 5s). */
  durationMs: number;
  /** exponential: the longest wait between attempts (Dapr's default 60s). */
  maxIntervalMs: number;
  /** Retries after the first attempt; -1 = until it succeeds (Dapr's default). */
  maxRetries: number;
  /** `matching`: the status codes that are retried, as inclusive [from, to] ranges; absent = all. */
  matching?: { httpStatusCodes?: Array<[number, number]>; gRPCStatusCodes?: Array<[number, number]> };
}

/** A named circuit breaker (`spec.policies.circuitBreakers.<name>`), durations in milliseconds. */
export interface CircuitBreakerSpec {
  maxRequests: number;
  /** How often the closed breaker clears its counts; 0 = never. */
  intervalMs: number;
  /** How long the breaker stays open before a trial call (Dapr's default 60s). */
  timeoutMs: number;
  /** The CEL expression over the counts that opens the breaker. */
  trip: string;
}

/** One Dapr `Resiliency` document, as plain data (bundles embed it as JSON). */
export interface ResiliencySpec {
  name: string;
  /** App ids it applies to; empty = every app. */
  scopes: string[];
  policies: {
    /** Timeout name → milliseconds (0 = no timeout, as in Dapr). */
    timeouts: Record<string, number>;
    retries: Record<string, RetryPolicySpec>;
    circuitBreakers: Record<string, CircuitBreakerSpec>;
  };
  targets: {
    /** Service invocation of an app id. */
    apps: Record<string, ResiliencyPolicyNames>;
    /** Component name → its calls out (outbound) and the deliveries it makes to functions (inbound). */
    components: Record<string, { outbound: ResiliencyPolicyNames; inbound: ResiliencyPolicyNames }>;
  };
  file?: string;
}
