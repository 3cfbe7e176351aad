/**
 * The AWS client settings Dapr's AWS components share — `region`, `endpoint`, `accessKey`,
 * `secretKey`, `sessionToken` — read and checked one way, and AWS SDK errors reduced to what is
 * safe to put in a message: the credentials never appear in one.
 */
import type { ComponentMetadata } from "../config/metadata.ts";
import { MechaError, type ErrorCode } from "../errors.ts";

/** The settings an AWS SDK v3 client takes, as read from a component's metadata. */
export interface AwsClientConfig {
  /** The metadata's `region`; else the AWS SDK's own (AWS_REGION), or `us-east-1` with an endpoint. */
  region: string | undefined;
  /** An emulator or a private endpoint, as an http(s) URL; the AWS SDK picks the service's own when unset. */
  endpoint: string | undefined;
  /** Unset: the AWS SDK's default credential chain (env, profile, the Lambda role, …). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

/** Where a component reads the shared metadata differently from the others. */
export interface AwsClientConfigOptions {
  /**
   * Also take an `endpoint` given as a bare host (`s3.eu-west-1.amazonaws.com`, as Dapr's S3
   * examples give it), reached with this scheme. Without it the endpoint must be an http(s) URL.
   */
  bareHostScheme?: "http" | "https";
}

/**
 * Reads and checks the shared AWS metadata. Throws a ComponentConfigError naming the field for an
 * endpoint that is not an http(s) URL (nor, with `bareHostScheme`, a host), half a key pair, or a
 * session token without a key pair.
 *
 * @example
 * const config = readAwsClientConfig(metadata); // { region: "eu-west-1", endpoint: undefined, credentials: undefined }
 * new SSMClient(config);
 */
export function readAwsClientConfig(metadata: ComponentMetadata, options: AwsClientConfigOptions = {}): AwsClientConfig {
  const { bareHostScheme } = options;
  const given = metadata.string("endpoint");
  const endpoint = given !== undefined && bareHostScheme && !hasHttpScheme(given) ? `${bareHostScheme}://${given}` : given;
  if (endpoint !== undefined && !(hasHttpScheme(endpoint) && URL.canParse(endpoint))) {
    const host = bareHostScheme ? ' or a host such as "s3.eu-west-1.amazonaws.com"' : "";
    throw metadata.error("endpoint", `must be a URL such as "http://localhost:4566"${host}; got "${given}"`);
  }
  const accessKeyId = metadata.string("accessKey");
  const secretAccessKey = metadata.string("secretKey");
  const sessionToken = metadata.string("sessionToken");
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw metadata.error(
      accessKeyId === undefined ? "accessKey" : "secretKey",
      "accessKey and secretKey must be given together (or neither, for the AWS default credential chain)",
    );
  }
  if (sessionToken !== undefined && accessKeyId === undefined) throw metadata.error("sessionToken", "needs accessKey and secretKey");
  return {
    region: metadata.string("region") ?? (endpoint ? "us-east-1" : undefined),
    endpoint,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined,
  };
}

function hasHttpScheme(endpoint: string): boolean {
  return /^https?:\/\//i.test(endpoint);
}

/** Where a client goes, for messages: ` at <endpoint>` or ` in <region>`. */
export function awsLocation(config: AwsClientConfig): string {
  return config.endpoint ? ` at ${config.endpoint}` : config.region ? ` in ${config.region}` : "";
}

/**
 * An AWS SDK error as an Error that is safe to log and to keep as a `cause`: the AWS error name,
 * the network error code, the HTTP status and AWS's message, with the configured credentials
 * blanked out wherever they appear. The SDK's own error is dropped: it carries the raw response.
 *
 * @example
 * safeAwsError(error, config).message // "UnrecognizedClientException (HTTP 400): The security token included in the request is invalid."
 */
export function safeAwsError(error: unknown, config: AwsClientConfig): Error {
  const failure = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } };
  const name = typeof failure.name === "string" && failure.name ? failure.name : "Error";
  const code = typeof failure.code === "string" && failure.code !== name ? failure.code : undefined;
  const status = failure.$metadata?.httpStatusCode;
  const detail = typeof failure.message === "string" ? failure.message : "";
  // A socket error (ECONNREFUSED, ENOTFOUND) never reached AWS: its code says more than its
  // generic name, and Node's AggregateError for one has no message at all.
  const text = status === undefined && code
    ? `${code}: could not reach the service${detail ? ` (${detail})` : ""}`
    : `${name}${code ? ` ${code}` : ""}${status ? ` (HTTP ${status})` : ""}${detail ? `: ${detail}` : ""}`;
  const safe = new Error(redact(text, config));
  safe.name = name;
  return safe;
}

function redact(text: string, { credentials }: AwsClientConfig): string {
  let safe = text;
  for (const value of [credentials?.secretAccessKey, credentials?.sessionToken, credentials?.accessKeyId]) {
    if (value) safe = safe.split(value).join("<redacted>");
  }
  return safe;
}

/** What {@link awsCaller} needs to know about a component and its SDK client. */
export interface AwsCallerOptions<C> {
  /** How messages name the component, e.g. `secret store "vault" (secretstores.aws.parameterstore)`. */
  label: string;
  component: string;
  config: AwsClientConfig;
  /** The error code of every failure. */
  code: ErrorCode;
  /** The SDK package, for the message when it cannot be loaded. */
  packageName: string;
  /** Loads the SDK and makes the client; called on first use, and again after a failure. */
  connect: () => Promise<C>;
  /** Lets go of a connection's client (`client.destroy()`). */
  destroy: (connection: C) => void;
}

/** Calls the service; `close()` lets go of the client (the next call makes a new one). */
export interface AwsCaller<C> {
  <T>(what: string, run: (connection: C) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The one way an AWS component calls its service: the client is made on first use (and made again
 * if that failed), and every failure becomes a MechaError with the given code that says what was
 * being done, where, and the AWS error — with no credential in it.
 *
 * @example
 * const send = awsCaller({ label, component: name, config, code: ErrorCodes.secretGet, packageName: "@aws-sdk/client-ssm",
 *   connect: async () => { const sdk = await import("@aws-sdk/client-ssm"); return { sdk, client: new sdk.SSMClient(config) }; },
 *   destroy: ({ client }) => client.destroy() });
 * await send(`get parameter "${key}"`, ({ sdk, client }) => client.send(new sdk.GetParameterCommand({ Name: key })));
 */
export function awsCaller<C>(options: AwsCallerOptions<C>): AwsCaller<C> {
  const { label, component, config, code, packageName } = options;
  let connection: Promise<C> | undefined;
  const connect = (): Promise<C> =>
    (connection ??= options.connect().catch((error: unknown) => {
      connection = undefined;
      throw new MechaError(code, `${label}: could not load ${packageName}; install it with "npm install ${packageName}"`, { component, cause: error });
    }));
  const send = async <T>(what: string, run: (connection: C) => Promise<T>): Promise<T> => {
    const c = await connect();
    try {
      return await run(c);
    } catch (error) {
      if (error instanceof MechaError) throw error;
      const cause = safeAwsError(error, config);
      throw new MechaError(code, `${label}: ${what}${awsLocation(config)} failed: ${cause.message}`, { component, cause });
    }
  };
  const close = async (): Promise<void> => {
    const opened = connection;
    connection = undefined;
    const c = await opened?.catch(() => undefined);
    if (c) options.destroy(c);
  };
  return Object.assign(send, { close });
}
