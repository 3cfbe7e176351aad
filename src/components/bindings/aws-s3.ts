/**
 * `bindings.aws.s3`: objects in an S3 bucket (or an S3-compatible store such as MinIO), through
 * the AWS SDK. The operations and metadata match the other object-store bindings
 * (`bindings.localstorage`, `bindings.cloudflare.r2`), so the same function code writes receipts
 * to any of them:
 *
 * - `create` — writes `data` (bytes as is, a string as text, anything else as JSON) under
 *   metadata `key` (or `fileName`); returns `{ key }`, and S3's `versionID` in the response
 *   metadata when the bucket is versioned.
 * - `get` — the object's bytes; a missing key is an error.
 * - `list` — keys, sorted; data `{ prefix?, maxResults? }`; follows S3's continuation tokens.
 * - `delete` — removes the key (S3 does not fail for a missing key, and neither does this).
 */
import type { S3Client, StorageClass } from "@aws-sdk/client-s3";
import type { BindingRequest, OutputBindingComponent } from "../../blocks/bindings.ts";
import { encodeBindingData, parseListOptions, outputBinding, type OperationHandlers } from "../../blocks/bindings.ts";
import { ComponentConfigError, ErrorCodes, InvalidRequestError, MechaError, NotFoundError } from "../../errors.ts";
import { awsCaller, readAwsClientConfig, safeAwsError } from "../aws-client-config.ts";
import type { ComponentOptions } from "../types.ts";

const type = "bindings.aws.s3";
/** S3's largest ListObjectsV2 page. */
const maxPageSize = 1000;

type Sdk = typeof import("@aws-sdk/client-s3");

interface Connection {
  sdk: Sdk;
  client: S3Client;
}

/**
 * Creates an S3 output binding. Reads Dapr's metadata: `bucket` (required), `region` (else the
 * AWS SDK's, or `us-east-1` with an `endpoint`), `endpoint` (a URL, or a host as in Dapr's
 * examples, reached over https unless `disableSSL`), `accessKey`, `secretKey` and `sessionToken`
 * (without them the AWS SDK's default credential chain applies), `forcePathStyle` (bucket in the
 * path, as MinIO and emulators need), `storageClass`, `decodeBase64` (`create` takes a base64
 * string and stores its bytes) and `encodeBase64` (`get` returns base64 text instead of bytes).
 * `insecureSSL` is refused: trust the endpoint's certificate with NODE_EXTRA_CA_CERTS instead.
 * The AWS SDK is loaded and the client made on first use.
 *
 * @example
 * const receipts = create({ name: "receipts", appId: "app", baseDir: process.cwd(),
 *   metadata: new ComponentMetadata({ bucket: "receipts", region: "eu-west-1" }, "receipts") });
 * await receipts.invoke({ operation: "create", data: { total: 3 }, metadata: { key: "r1.json" } });
 */
export function create({ name, metadata }: ComponentOptions): OutputBindingComponent {
  const bucket = metadata.requiredString("bucket");
  const disableSsl = metadata.boolean("disableSSL", false);
  const config = readAwsClientConfig(metadata, { bareHostScheme: disableSsl ? "http" : "https" });
  const forcePathStyle = metadata.boolean("forcePathStyle", false);
  const storageClass = metadata.string("storageClass");
  const decodeBase64 = metadata.boolean("decodeBase64", false);
  const encodeBase64 = metadata.boolean("encodeBase64", false);
  if (metadata.boolean("insecureSSL", false)) {
    throw metadata.error("insecureSSL", "is not supported: skipping certificate checks is unsafe; add the endpoint's CA with NODE_EXTRA_CA_CERTS instead");
  }

  const label = `binding "${name}" (${type})`;
  const malformed = (message: string) => new InvalidRequestError(`${label}: ${message}`, { component: name });
  const keyOf = (request: BindingRequest): string => {
    const key = request.metadata?.["key"] || request.metadata?.["fileName"];
    if (!key) throw malformed(`"${request.operation}" needs the object key in metadata "key"`);
    return key;
  };

  const call = awsCaller<Connection>({
    label,
    component: name,
    config,
    code: ErrorCodes.bindingInvoke,
    packageName: "@aws-sdk/client-s3",
    connect: async () => {
      const sdk = await import("@aws-sdk/client-s3");
      return { sdk, client: new sdk.S3Client({ ...config, forcePathStyle }) };
    },
    destroy: ({ client }) => client.destroy(),
  });

  /**
   * Sends one command in the bucket. A missing bucket becomes a config error naming it; any other
   * failure an ERR_INVOKE_OUTPUT_BINDING whose cause keeps only S3's error name, message and
   * status (see safeAwsError): S3's error bodies echo the access key id (InvalidAccessKeyId,
   * SignatureDoesNotMatch).
   */
  const send = <T>(what: string, run: (c: Connection) => Promise<T>): Promise<T> =>
    call(`${what} in bucket "${bucket}"`, async (c) => {
      try {
        return await run(c);
      } catch (error) {
        if ((error as Error).name !== "NoSuchBucket") throw error;
        const { region, endpoint } = config;
        throw new ComponentConfigError(`S3 bucket "${bucket}" does not exist${region ? ` in ${region}` : ""}${endpoint ? ` at ${endpoint}` : ""}: create it, or fix the bucket name`, {
          component: name,
          field: "bucket",
          cause: safeAwsError(error, config),
        });
      }
    });

  const handlers: OperationHandlers = {
    async create(request) {
      const key = keyOf(request);
      const body = decodeBase64 ? fromBase64(request.data, malformed) : toBytes(encodeBindingData(request.data));
      const output = await send(`create "${key}"`, ({ sdk, client }) =>
        client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...(storageClass ? { StorageClass: storageClass as StorageClass } : {}) })),
      );
      return { data: { key }, metadata: { key, ...(output.VersionId ? { versionID: output.VersionId } : {}) } };
    },
    async get(request) {
      const key = keyOf(request);
      const bytes = await send(`get "${key}"`, async ({ sdk, client }) => {
        try {
          const output = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
          return plain((await output.Body?.transformToByteArray()) ?? new Uint8Array());
        } catch (error) {
          if ((error as Error).name !== "NoSuchKey") throw error;
          throw new NotFoundError(ErrorCodes.bindingInvoke, `${label}: object "${key}" not found`, { component: name, cause: safeAwsError(error, config) });
        }
      });
      return { data: encodeBase64 ? toBase64(bytes) : bytes, metadata: { key } };
    },
    async list(request) {
      const { prefix, maxResults } = parseListOptions(request.data, malformed);
      const keys: string[] = [];
      let token: string | undefined;
      while (maxResults === undefined || keys.length < maxResults) {
        const page = await send(`list${prefix ? ` "${prefix}"` : ""}`, ({ sdk, client }) =>
          client.send(
            new sdk.ListObjectsV2Command({
              Bucket: bucket,
              ...(prefix ? { Prefix: prefix } : {}),
              ...(maxResults !== undefined ? { MaxKeys: Math.min(maxPageSize, maxResults - keys.length) } : {}),
              ...(token ? { ContinuationToken: token } : {}),
            }),
          ),
        );
        keys.push(...(page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key])));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
        if (!token) break;
      }
      keys.sort();
      return { data: maxResults === undefined ? keys : keys.slice(0, maxResults), metadata: {} };
    },
    async delete(request) {
      const key = keyOf(request);
      await send(`delete "${key}"`, ({ sdk, client }) => client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key })));
      return { data: undefined, metadata: { key } };
    },
  };

  return outputBinding({
    type,
    name,
    handlers,
    close: call.close,
  });
}

/** A plain Uint8Array view (the SDK may hand back a Buffer), without copying. */
function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Bytes with a known length: the SDK cannot size a string body up front and warns for each. */
function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

function fromBase64(data: unknown, malformed: (message: string) => Error): Uint8Array {
  if (typeof data !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0) {
    throw malformed(`"create" takes base64 text as data when decodeBase64 is set`);
  }
  const binary = atob(data);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
