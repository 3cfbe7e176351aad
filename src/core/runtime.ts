/**
 * The runtime: the components of a resources folder, created on first use, and the per-invocation
 * contexts that hand them to functions. It knows no platform and imports no component: the host
 * passes in the catalog of component loaders.
 */
import type { OutputBindingComponent, InputBindingComponent } from "../blocks/bindings.ts";
import { createLockClient, type LockClient } from "../blocks/lock.ts";
import type { NameResolutionComponent } from "../blocks/nameresolution.ts";
import type { PubSubComponent } from "../blocks/pubsub.ts";
import type { SecretStoreComponent } from "../blocks/secrets.ts";
import { createStateClient, type StateClient } from "../blocks/state.ts";
import { parseTopicScopes, type TopicScopeMetadata, type TopicScopes } from "../blocks/topic-scopes.ts";
import type { CatalogEntry } from "../components/catalog.ts";
import type { Block, BlockComponents } from "../components/types.ts";
import { ComponentMetadata, isTruthy } from "../config/metadata.ts";
import type { ComponentSpec, ResiliencySpec } from "../config/types.ts";
import { ComponentConfigError, ComponentNotFoundError, ErrorCodes, ForbiddenError, InvalidRequestError, MechaError, NotFoundError } from "../errors.ts";
import { encodeEnvelope, encodeRaw, cloudEventContentType, defaultContentType } from "./cloudevent.ts";
import type { PublishOptions } from "./context.ts";
import { InvocationContext, type ContextOptions } from "./invocation-context.ts";
import type { Logger } from "./logger.ts";
import { silentLogger } from "./logger.ts";
import { createResiliency, withOutboundPolicy, type Resiliency } from "./resiliency.ts";
import type { LocalFetch } from "./service-invocation.ts";
import { continueTrace } from "./trace.ts";

export interface RuntimeOptions {
  appId: string;
  components: readonly ComponentSpec[];
  catalog: Readonly<Record<string, CatalogEntry>>;
  /** Where relative paths in component metadata are resolved from. */
  baseDir: string;
  logger?: Logger;
  /** Environment for `envRef`; defaults to `process.env` where there is one. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The platform's binding objects (Workers `env`), handed to components. */
  bindings?: Readonly<Record<string, unknown>>;
  /** Dapr Resiliency documents (all of them: those scoped to other apps are ignored). */
  resiliencies?: readonly ResiliencySpec[];
}


export class Runtime {
  readonly appId: string;
  readonly logger: Logger;
  /**
   * The app's resiliency policies. Component calls get their outbound policies here; the delivery
   * pipeline and service invocation take theirs with `forComponent(…, "inbound")` and `forApp`.
   */
  readonly resiliency: Resiliency;
  readonly #specs: ReadonlyMap<string, ComponentSpec>;
  readonly #catalog: Readonly<Record<string, CatalogEntry>>;
  readonly #baseDir: string;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #bindings: Readonly<Record<string, unknown>> | undefined;
  readonly #instances = new Map<string, Promise<BlockComponents[Block]>>();
  readonly #stateClients = new Map<string, Promise<StateClient>>();
  /** One lazy client per store name, shared by every invocation: it holds no invocation state. */
  readonly #lazyStateClients = new Map<string, StateClient>();
  readonly #lockClients = new Map<string, Promise<LockClient>>();
  /** Each pub/sub's topic scoping (Dapr's publishingScopes, subscriptionScopes, allowedTopics, protectedTopics). */
  readonly #topicScopes = new Map<string, TopicScopes>();
  /**
   * How a service invocation of this app's own id reaches its HTTP functions in-process. createApp
   * sets it once the Hono app exists (the app is made after the Runtime); unset, such a call fails.
   */
  localFetch: LocalFetch | undefined;

  constructor(options: RuntimeOptions) {
    this.appId = options.appId;
    this.logger = options.logger ?? silentLogger;
    this.#catalog = options.catalog;
    this.#baseDir = options.baseDir;
    this.#env = options.env ?? (globalThis.process?.env as Record<string, string | undefined>) ?? {};
    this.#bindings = options.bindings;
    this.resiliency = createResiliency({ appId: options.appId, specs: options.resiliencies, logger: this.logger });
    const specs = new Map<string, ComponentSpec>();
    for (const spec of options.components) {
      if (specs.has(spec.name)) {
        throw new ComponentConfigError(`the name is also used by ${specs.get(spec.name)!.file ?? "another component"}`, {
          file: spec.file,
          component: spec.name,
          field: "metadata.name",
        });
      }
      if (!this.#catalog[spec.type]) {
        throw new ComponentConfigError(
          `unknown type "${spec.type}"; known types: ${Object.keys(this.#catalog).sort().join(", ")}`,
          { file: spec.file, component: spec.name, field: "spec.type" },
        );
      }
      specs.set(spec.name, spec);
    }
    this.#specs = specs;
    for (const spec of specs.values()) {
      if (this.#catalog[spec.type]!.block !== "pubsub") continue;
      const read = (field: keyof TopicScopeMetadata) => resolvedValue(spec, field, this.#env);
      this.#topicScopes.set(
        spec.name,
        parseTopicScopes({
          publishingScopes: read("publishingScopes"),
          subscriptionScopes: read("subscriptionScopes"),
          allowedTopics: read("allowedTopics"),
          protectedTopics: read("protectedTopics"),
        }),
      );
    }
  }

  /** The configured components, with their block. */
  get components(): Array<{ name: string; type: string; version: string; block: Block }> {
    return [...this.#specs.values()].map((s) => ({ name: s.name, type: s.type, version: s.version, block: this.#catalog[s.type]!.block }));
  }

  /**
   * What a component declares it can do (`features` of a state store or pub/sub; operations of an
   * output binding), creating it if it was not yet. Empty for a block that declares nothing.
   */
  async capabilities(name: string): Promise<{ features: readonly string[]; operations: readonly string[]; input: boolean }> {
    const spec = this.#specs.get(name);
    if (!spec) return { features: [], operations: [], input: false };
    const component = (await this.#instance(name, this.#catalog[spec.type]!.block)) as {
      features?: readonly string[];
      operations?: readonly string[];
      start?: unknown;
    };
    return { features: component.features ?? [], operations: component.operations ?? [], input: typeof component.start === "function" };
  }

  /**
   * Creates every component now, so that bad metadata fails at startup rather than on first use.
   * Factories do no network I/O; only `secretKeyRef`s are read from their secret stores.
   */
  async validate(): Promise<void> {
    await this.resiliency.validate();
    for (const spec of this.#specs.values()) await this.#instance(spec.name, this.#catalog[spec.type]!.block);
  }

  async state(name: string): Promise<StateClient> {
    let client = this.#stateClients.get(name);
    if (!client) {
      client = this.#instance(name, "state").then((store) => {
        const spec = this.#specs.get(name)!;
        return createStateClient({
          name,
          appId: this.appId,
          store,
          keyPrefix: resolvedValue(spec, "keyPrefix", this.#env),
        });
      });
      client.catch(() => this.#stateClients.delete(name));
      this.#stateClients.set(name, client);
    }
    return client;
  }

  pubsub(name: string): Promise<PubSubComponent> {
    return this.#instance(name, "pubsub");
  }

  async outputBinding(name: string): Promise<OutputBindingComponent> {
    const component = await this.#instance(name, "bindings");
    if (!component.invoke || !component.operations) {
      throw new InvalidRequestError(`binding "${name}" (${component.type}) is input-only and cannot be invoked`, {
        code: ErrorCodes.bindingInvoke,
        component: name,
      });
    }
    return component as OutputBindingComponent;
  }

  async inputBinding(name: string): Promise<InputBindingComponent> {
    const component = await this.#instance(name, "bindings");
    if (!component.start) {
      throw new ComponentConfigError(`${component.type} is not an input binding, so no function can be triggered by it`, {
        component: name,
        file: this.#specs.get(name)?.file,
      });
    }
    return component as InputBindingComponent;
  }

  secretStore(name: string): Promise<SecretStoreComponent> {
    return this.#instance(name, "secretstores");
  }

  /** A name-resolution component (service invocation); created on first use. */
  nameResolution(name: string): Promise<NameResolutionComponent> {
    return this.#instance(name, "nameresolution");
  }

  /** The client of a lock store, with its `keyPrefix`; the component is created on first use. */
  lock(name: string): Promise<LockClient> {
    let client = this.#lockClients.get(name);
    if (!client) {
      client = this.#instance(name, "lock").then((store) =>
        createLockClient({ name, appId: this.appId, store, keyPrefix: resolvedValue(this.#specs.get(name)!, "keyPrefix", this.#env) }),
      );
      client.catch(() => this.#lockClients.delete(name));
      this.#lockClients.set(name, client);
    }
    return client;
  }

  /** Reads a secret; a missing one is an error that names the store and the key. */
  async secret(store: string, key: string): Promise<Record<string, string>> {
    const values = await (await this.secretStore(store)).get(key);
    if (!values) {
      throw new NotFoundError(ErrorCodes.secretNotFound, `secret "${key}" not found in secret store "${store}"`, {
        component: store,
      });
    }
    return values;
  }

  /** Publishes data as a CloudEvent (or raw) to a topic. */
  async publish(pubsub: string, topic: string, data: unknown, options: PublishOptions = {}, trace = continueTrace()): Promise<void> {
    if (typeof topic !== "string" || !topic) {
      throw new InvalidRequestError(`topic must be a non-empty string`, { component: pubsub });
    }
    this.assertMayPublish(pubsub, topic);
    const component = await this.pubsub(pubsub);
    const raw = options.rawPayload ?? isTruthy(options.metadata?.["rawPayload"]);
    const bytes = raw
      ? encodeRaw(data)
      : await encodeEnvelope({ appId: this.appId, pubsub, topic, data, contentType: options.contentType, trace });
    try {
      await component.publish({
        topic,
        data: bytes,
        contentType: raw ? (options.contentType ?? defaultContentType(data)) : cloudEventContentType,
        metadata: options.metadata,
      });
    } catch (cause) {
      if (cause instanceof MechaError) throw cause;
      throw new MechaError(ErrorCodes.publish, `publishing to topic "${topic}" on "${pubsub}" failed`, {
        component: pubsub,
        cause,
      });
    }
  }

  /** Throws ForbiddenError (ERR_PUBSUB_FORBIDDEN) when the pub/sub's topic scoping does not let this app publish to the topic. */
  assertMayPublish(pubsub: string, topic: string): void {
    const forbiddenBy = this.#topicScopes.get(pubsub)?.forbiddenBy(this.appId, topic, "publish");
    if (forbiddenBy) {
      throw new ForbiddenError(ErrorCodes.pubsubForbidden, `topic ${topic} is not allowed for app id ${this.appId} (${forbiddenBy} of pub/sub "${pubsub}")`, {
        component: pubsub,
      });
    }
  }

  /**
   * Which metadata field of the pub/sub's topic scoping forbids this app to subscribe to the
   * topic, if one does (checked at startup, so a forbidden subscription never starts).
   */
  subscriptionForbiddenBy(pubsub: string, topic: string): { field: string; file?: string } | undefined {
    const field = this.#topicScopes.get(pubsub)?.forbiddenBy(this.appId, topic, "subscribe");
    return field ? { field, file: this.#specs.get(pubsub)?.file } : undefined;
  }

  /** A fresh Context for one invocation. Its trace and logger are made on first use. */
  createContext(options: ContextOptions = {}): InvocationContext {
    return new InvocationContext(this, options);
  }

  /** Closes every component that was created. */
  async close(): Promise<void> {
    this.resiliency.stop();
    const instances = [...this.#instances.values()];
    this.#instances.clear();
    this.#stateClients.clear();
    this.#lazyStateClients.clear();
    this.#lockClients.clear();
    await Promise.allSettled(instances.map(async (p) => (await p).close()));
  }

  /** `ctx.state(name)`: a client whose component is created on its first call. */
  lazyStateClient(name: string): StateClient {
    let client = this.#lazyStateClients.get(name);
    if (!client) {
      client = lazyStateClient(() => this.state(name));
      this.#lazyStateClients.set(name, client);
    }
    return client;
  }

  #instance<B extends Block>(name: string, block: B): Promise<BlockComponents[B]> {
    const spec = this.#specs.get(name);
    if (!spec || this.#catalog[spec.type]!.block !== block) {
      const known = [...this.#specs.values()].filter((s) => this.#catalog[s.type]!.block === block).map((s) => s.name);
      return Promise.reject(new ComponentNotFoundError(blockNoun[block], name, known));
    }
    let instance = this.#instances.get(name);
    if (!instance) {
      instance = this.#create(spec);
      instance.catch(() => this.#instances.delete(name));
      this.#instances.set(name, instance);
    }
    return instance as Promise<BlockComponents[B]>;
  }

  async #create(spec: ComponentSpec): Promise<BlockComponents[Block]> {
    const values = await this.#resolveMetadata(spec);
    const referenced = new Set(spec.metadata.filter((m) => m.secretKeyRef || m.envRef !== undefined).map((m) => m.name));
    const entry = this.#catalog[spec.type]!;
    const module = await entry.load();
    const component = module.create({
      name: spec.name,
      appId: this.appId,
      baseDir: this.#baseDir,
      metadata: new ComponentMetadata(values, spec.name, spec.file, referenced),
      logger: this.logger.child({ component: spec.name }),
      env: this.#env,
      bindings: this.#bindings,
    });
    return withOutboundPolicy(component, entry.block, this.resiliency.forComponent(spec.name, entry.block, "outbound"));
  }

  /** Replaces `envRef` and `secretKeyRef` entries with their values. */
  async #resolveMetadata(spec: ComponentSpec): Promise<Record<string, string>> {
    const values: Record<string, string> = {};
    for (const [i, entry] of spec.metadata.entries()) {
      const resolveField = `spec.metadata[${i}]`;
      const field = `spec.metadata[${i}].secretKeyRef`;
      if (entry.secretKeyRef) {
        const storeName = spec.secretStore;
        if (!storeName) {
          throw new ComponentConfigError(`uses secretKeyRef but the component has no auth.secretStore`, {
            file: spec.file,
            component: spec.name,
            field,
          });
        }
        const secret = await this.secret(storeName, entry.secretKeyRef.name).catch((cause) => {
          throw new ComponentConfigError(`secretKeyRef "${entry.secretKeyRef!.name}" could not be read from "${storeName}"`, {
            file: spec.file,
            component: spec.name,
            field,
            cause,
          });
        });
        const value = secret[entry.secretKeyRef.key ?? entry.secretKeyRef.name];
        if (value === undefined) {
          throw new ComponentConfigError(`secret "${entry.secretKeyRef.name}" has no key "${entry.secretKeyRef.key ?? entry.secretKeyRef.name}"`, {
            file: spec.file,
            component: spec.name,
            field,
          });
        }
        values[entry.name] = value;
      } else {
        const value = resolvedValue(spec, entry.name, this.#env, entry, `${resolveField}.envRef`);
        if (value !== undefined) values[entry.name] = value;
      }
    }
    return values;
  }
}

const blockNoun: Record<Block, string> = {
  state: "state store",
  pubsub: "pub/sub",
  bindings: "binding",
  secretstores: "secret store",
  lock: "lock store",
  nameresolution: "name resolution",
};

function resolvedValue(
  spec: ComponentSpec,
  name: string,
  env: Readonly<Record<string, string | undefined>>,
  entry = spec.metadata.find((m) => m.name === name),
  field = entry?.name,
): string | undefined {
  if (!entry) return undefined;
  if (entry.envRef !== undefined) {
    const value = env[entry.envRef];
    if (value === undefined) {
      throw new ComponentConfigError(`envRef "${entry.envRef}" is not set in the environment`, {
        file: spec.file,
        component: spec.name,
        field,
      });
    }
    return value;
  }
  return entry.value;
}

/** A state client whose component is created on its first call; later calls go straight through. */
function lazyStateClient(resolve: () => Promise<StateClient>): StateClient {
  let resolved: StateClient | undefined;
  let pending: Promise<StateClient> | undefined;
  const client = () => (pending ??= resolve().then((c) => (resolved = c), (error) => {
    pending = undefined;
    throw error;
  }));
  return {
    get: (key) => (resolved ? resolved.get(key) : client().then((c) => c.get(key))),
    set: (key, value, options) => (resolved ? resolved.set(key, value, options) : client().then((c) => c.set(key, value, options))),
    delete: (key, options) => (resolved ? resolved.delete(key, options) : client().then((c) => c.delete(key, options))),
    getBulk: (keys) => (resolved ? resolved.getBulk(keys) : client().then((c) => c.getBulk(keys))),
    setBulk: (items) => (resolved ? resolved.setBulk(items) : client().then((c) => c.setBulk(items))),
    deleteBulk: (items) => (resolved ? resolved.deleteBulk(items) : client().then((c) => c.deleteBulk(items))),
    transaction: (operations) => (resolved ? resolved.transaction(operations) : client().then((c) => c.transaction(operations))),
  } as StateClient;
}
