/**
 * The contract between the resources folder and a component file: every file under
 * src/components/<block>/ exports `create(options)`, a factory that validates its metadata and
 * does no I/O — the client connects on first use.
 */
import type { ComponentMetadata } from "../config/metadata.ts";
import type { Logger } from "../core/logger.ts";
import type { OutputBindingComponent, InputBindingComponent } from "../blocks/bindings.ts";
import type { LockStoreComponent } from "../blocks/lock.ts";
import type { NameResolutionComponent } from "../blocks/nameresolution.ts";
import type { PubSubComponent } from "../blocks/pubsub.ts";
import type { SecretStoreComponent } from "../blocks/secrets.ts";
import type { StateStoreComponent } from "../blocks/state.ts";

export interface ComponentOptions {
  /** The component's name (`metadata.name`). */
  name: string;
  metadata: ComponentMetadata;
  appId: string;
  /** Where relative paths in the metadata are resolved from (the project root). */
  baseDir: string;
  /** For what a component notices on its own (a failed cleanup, a lost connection). */
  logger?: Logger;
  /** The environment the runtime resolves `envRef` from (`process.env` on Node). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The platform's binding objects by name — on Workers, the `env` of the invocation (KV
   * namespaces, Durable Object namespaces, Queue producers, R2 buckets). Read on first use, never
   * in `create`, so a missing binding fails the call that needs it with a clear error.
   */
  bindings?: Readonly<Record<string, unknown>>;
}

export type Block = "state" | "pubsub" | "bindings" | "secretstores" | "lock" | "nameresolution";

export interface BlockComponents {
  state: StateStoreComponent;
  pubsub: PubSubComponent;
  /** A binding may be output, input, or both. */
  bindings: Partial<OutputBindingComponent & InputBindingComponent> & { type: string; close(): Promise<void> };
  secretstores: SecretStoreComponent;
  lock: LockStoreComponent;
  /** How service invocation finds other apps by id. */
  nameresolution: NameResolutionComponent;
}

export interface ComponentModule<B extends Block = Block> {
  create(options: ComponentOptions): BlockComponents[B];
}
