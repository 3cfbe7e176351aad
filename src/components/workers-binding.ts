/**
 * The Cloudflare components' one way to take a binding object (KV namespace, Durable Object
 * namespace, R2 bucket, Queue producer) from the Worker's env: on first use, checked, and with an
 * error that names the binding and the wrangler.toml entry it needs.
 */
import { ComponentConfigError } from "../errors.ts";

export interface WorkersBindingRequest {
  /** The env of the invocation (`ComponentOptions.bindings`); absent outside Workers. */
  bindings: Readonly<Record<string, unknown>> | undefined;
  /** The binding's name in env. */
  name: string;
  /** What it should be, e.g. "KV namespace". */
  kind: string;
  /** Methods the component calls: an object without them is the wrong kind of binding. */
  methods: readonly string[];
  /** The wrangler.toml entry that declares it, for the error. */
  wranglerEntry: string;
  component: string;
  /** The metadata field that names the binding. */
  field: string;
}

export function workersBinding<T>(request: WorkersBindingRequest): T {
  const { bindings, name, kind, wranglerEntry, component, field } = request;
  const candidate = bindings?.[name] as Record<string, unknown> | undefined | null;
  if (candidate === undefined || candidate === null) {
    const where = bindings ? "the Worker's env" : "this runtime (it needs Cloudflare Workers)";
    throw new ComponentConfigError(`the ${kind} binding "${name}" is missing from ${where}; add it to wrangler.toml: ${wranglerEntry}`, {
      component,
      field,
    });
  }
  if (!request.methods.every((method) => typeof candidate[method] === "function")) {
    throw new ComponentConfigError(`the binding "${name}" is not a ${kind}; in wrangler.toml it must be ${wranglerEntry}`, { component, field });
  }
  return candidate as T;
}
