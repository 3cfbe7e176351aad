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
  /** The HTTP function path each event is delivered to (v1alpha1 `route`, v2alpha1 `routes.default`). */
  route: string;
  deadLetterTopic?: string;
  /** `metadata.rawPayload` in the subscription's metadata. */
  rawPayload: boolean;
  scopes: string[];
  file?: string;
}

export interface Resources {
  components: ComponentSpec[];
  subscriptions: SubscriptionSpec[];
}
