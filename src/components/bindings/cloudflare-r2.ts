/**
 * `bindings.cloudflare.r2`: objects in a Cloudflare R2 bucket, through the Worker's R2 binding.
 * The operations and metadata match the other object-store bindings (`bindings.localstorage`,
 * `bindings.aws.s3`), so the same function code writes receipts to any of them:
 *
 * - `create` — writes `data` (bytes as is, a string as text, anything else as JSON) under
 *   metadata `key` (or `fileName`); returns `{ key }`.
 * - `get` — the object's bytes; a missing key is an error.
 * - `list` — keys, sorted; data `{ prefix?, maxResults? }`.
 * - `delete` — removes the key (R2 does not fail for a missing key, and neither does this).
 *
 * Metadata: `binding` (the R2 bucket binding name in the Worker's env; default `MECHA_R2`),
 * `bucketName` (used by `mecha build` for wrangler.toml; default the component name).
 */
import type { BindingRequest, OutputBindingComponent } from "../../blocks/bindings.ts";
import { encodeBindingData, parseListOptions, outputBinding, type OperationHandlers } from "../../blocks/bindings.ts";
import { ErrorCodes, InvalidRequestError, MechaError, NotFoundError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";
import { workersBinding } from "../workers-binding.ts";

const type = "bindings.cloudflare.r2";

/** The part of an R2Bucket binding this component uses. */
interface Bucket {
  put(key: string, value: Uint8Array | string): Promise<unknown>;
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer>; httpMetadata?: { contentType?: string } } | null>;
  list(options: { prefix?: string; limit?: number; cursor?: string }): Promise<{ objects: Array<{ key: string }>; truncated: boolean; cursor?: string }>;
  delete(key: string): Promise<void>;
}

export function create({ name, metadata, bindings }: ComponentOptions): OutputBindingComponent {
  const binding = metadata.string("binding", "MECHA_R2");
  metadata.string("bucketName", name);

  const bucket = (): Bucket =>
    workersBinding<Bucket>({
      bindings,
      name: binding,
      kind: "R2 bucket",
      methods: ["put", "get", "list", "delete"],
      wranglerEntry: `[[r2_buckets]] binding = "${binding}" bucket_name = "<your bucket>"`,
      component: name,
      field: "binding",
    });
  const malformed = (message: string) => new InvalidRequestError(`binding "${name}" (${type}): ${message}`, { component: name });
  const keyOf = (request: BindingRequest): string => {
    const key = request.metadata?.["key"] || request.metadata?.["fileName"];
    if (!key) throw malformed(`"${request.operation}" needs the object key in metadata "key"`);
    return key;
  };

  const handlers: OperationHandlers = {
    async create(request) {
      const key = keyOf(request);
      await bucket().put(key, encodeBindingData(request.data));
      return { data: { key }, metadata: { key } };
    },
    async get(request) {
      const key = keyOf(request);
      const object = await bucket().get(key);
      if (!object) throw new NotFoundError(ErrorCodes.bindingInvoke, `binding "${name}" (${type}): object "${key}" not found`, { component: name });
      return { data: new Uint8Array(await object.arrayBuffer()), metadata: { key } };
    },
    async list(request) {
      const { prefix, maxResults } = parseListOptions(request.data, malformed);
      const keys: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await bucket().list({ ...(prefix ? { prefix } : {}), ...(cursor ? { cursor } : {}) });
        keys.push(...page.objects.map((o) => o.key));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor && (maxResults === undefined || keys.length < maxResults));
      keys.sort();
      return { data: maxResults === undefined ? keys : keys.slice(0, maxResults), metadata: {} };
    },
    async delete(request) {
      const key = keyOf(request);
      await bucket().delete(key);
      return { data: undefined, metadata: { key } };
    },
  };

  return outputBinding({ type, name, handlers });
}
