/**
 * A protocol-level stand-in for AWS Secrets Manager and SSM Parameter Store, for tests, on
 * 127.0.0.1 in this process. It exists because no emulator for these services exists on npm:
 * fauxqs covers SNS, SQS and S3, dynalite DynamoDB, s3rver S3, and the npm packages that mention
 * SSM (serverless-offline-ssm and its kin) read values from files into a Serverless config rather
 * than serve the API. LocalStack and moto need Docker or PyPI, which this workplace does not have.
 *
 * It is not a mock of the client: the real AWS SDK clients talk to it over HTTP, so their request
 * signing, JSON 1.1 serialization, error parsing, retries and pagination all run. It speaks the AWS
 * JSON 1.1 protocol (`POST /`, `X-Amz-Target`, `application/x-amz-json-1.1`, errors as `__type`
 * bodies) for exactly the operations mecha's stores and their tests use:
 *
 * - `secretsmanager.` CreateSecret, GetSecretValue, ListSecrets, BatchGetSecretValue (SecretIdList)
 * - `AmazonSSM.` PutParameter, GetParameter, GetParameters, DescribeParameters (Name filters)
 *
 * Where AWS documents a behaviour a client depends on, the stand-in follows it: SigV4 signatures are
 * checked against the known credentials (UnrecognizedClientException for an unknown key id,
 * InvalidSignatureException for a wrong secret key); missing secrets and parameters answer
 * ResourceNotFoundException and ParameterNotFound; page sizes are validated (ListSecrets 1–100,
 * DescribeParameters 1–50, GetParameters 1–10 names, BatchGetSecretValue 1–20 ids); a page may be
 * shorter than MaxResults (AWS says so for both list calls), and DescribeParameters filters after
 * it pages, so a filtered page can be empty and still carry a NextToken, as AWS's does. A
 * SecureString read without decryption answers an opaque ciphertext, not the value.
 * Everything else answers UnknownOperationException, as AWS does for an unknown target.
 */
import { createHash, createHmac, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A key pair the stand-in knows, and checks request signatures with. */
export interface EmulatorCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** How the stand-in behaves where AWS leaves room. */
export interface AwsSecretsEmulatorOptions {
  /**
   * The most results a ListSecrets or DescribeParameters page holds, below AWS's maxima (100, 50),
   * so that tests cross pages with a handful of entries.
   */
  maxPageSize?: number;
}

/** A running stand-in, with what tests need to seed it, point stores at it and see what they called. */
export interface AwsSecretsEmulator {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  region: string;
  /** Long-term credentials the stand-in accepts. */
  credentials: EmulatorCredentials;
  /** Temporary credentials (with a session token) the stand-in accepts. */
  sessionCredentials: Required<EmulatorCredentials>;
  /** The metadata of a component on this stand-in: endpoint, region, accessKey, secretKey. */
  metadata(extra?: Record<string, string>): Record<string, string>;
  /** The SDK client config for this stand-in, to seed it in tests. */
  clientConfig: { endpoint: string; region: string; credentials: EmulatorCredentials };
  /** Every operation called, in order, as its X-Amz-Target (`secretsmanager.ListSecrets`). */
  readonly calls: readonly string[];
  /** Answers AccessDeniedException to `target`, as an IAM policy without it would; returns the undo. */
  deny(target: string): () => void;
  stop(): Promise<void>;
}

const region = "us-east-1";
const account = "000000000000";
const credentials: EmulatorCredentials = { accessKeyId: "AKIAMECHAEMULATOR", secretAccessKey: "emulator-secret-access-key" };
const sessionCredentials: Required<EmulatorCredentials> = {
  accessKeyId: "ASIAMECHAEMULATOR",
  secretAccessKey: "emulator-session-secret-key",
  sessionToken: "emulator-session-token",
};

/** An AWS error answer: `{ "__type": type, "message": message }` with an HTTP status. */
class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;
type Handler = (input: Json) => Json;

interface Secret {
  arn: string;
  name: string;
  versionId: string | undefined;
  secretString: string | undefined;
  /** base64, as the JSON protocol carries blobs. */
  secretBinary: string | undefined;
  created: number;
}

interface StoredParameter {
  name: string;
  type: "String" | "StringList" | "SecureString";
  value: string;
  version: number;
  modified: number;
}

/** Starts the stand-in on 127.0.0.1, port 0. */
export async function startAwsSecretsEmulator(options: AwsSecretsEmulatorOptions = {}): Promise<AwsSecretsEmulator> {
  const maxPageSize = options.maxPageSize ?? Number.POSITIVE_INFINITY;
  const secrets = new Map<string, Secret>();
  const parameters = new Map<string, StoredParameter>();
  const calls: string[] = [];
  const denied = new Set<string>();
  const now = () => Date.now() / 1000;

  const findSecret = (id: unknown): Secret => {
    const text = requiredString(id, "SecretId");
    const secret = secrets.get(text) ?? [...secrets.values()].find((s) => s.arn === text);
    if (!secret) throw new AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    return secret;
  };
  const secretValue = (secret: Secret): Json => {
    if (secret.versionId === undefined) {
      throw new AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: secret.versionId,
      ...(secret.secretString !== undefined ? { SecretString: secret.secretString } : {}),
      ...(secret.secretBinary !== undefined ? { SecretBinary: secret.secretBinary } : {}),
      VersionStages: ["AWSCURRENT"],
      CreatedDate: secret.created,
    };
  };
  const parameterArn = (name: string) => `arn:aws:ssm:${region}:${account}:parameter${name.startsWith("/") ? "" : "/"}${name}`;
  const parameterJson = (parameter: StoredParameter, decrypt: boolean): Json => ({
    Name: parameter.name,
    Type: parameter.type,
    Value: parameter.type === "SecureString" && !decrypt ? Buffer.from(`kms-ciphertext:${randomUUID()}`).toString("base64") : parameter.value,
    Version: parameter.version,
    LastModifiedDate: parameter.modified,
    ARN: parameterArn(parameter.name),
    DataType: "text",
  });

  const handlers: Record<string, Handler> = {
    "secretsmanager.CreateSecret"(input) {
      const name = requiredString(input["Name"], "Name");
      if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name)) throw new AwsError("ValidationException", "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!");
      if (secrets.has(name)) throw new AwsError("ResourceExistsException", `The operation failed because the secret ${name} already exists.`);
      if (input["SecretString"] !== undefined && input["SecretBinary"] !== undefined) {
        throw new AwsError("InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.");
      }
      const hasValue = input["SecretString"] !== undefined || input["SecretBinary"] !== undefined;
      const secret: Secret = {
        arn: `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${randomUUID().slice(0, 6)}`,
        name,
        versionId: hasValue ? randomUUID() : undefined,
        secretString: input["SecretString"] as string | undefined,
        secretBinary: input["SecretBinary"] as string | undefined,
        created: now(),
      };
      secrets.set(name, secret);
      return { ARN: secret.arn, Name: name, ...(secret.versionId ? { VersionId: secret.versionId } : {}) };
    },
    "secretsmanager.GetSecretValue"(input) {
      if (input["VersionId"] !== undefined || input["VersionStage"] !== undefined) {
        throw new AwsError("ValidationException", "this stand-in keeps only the AWSCURRENT version");
      }
      return secretValue(findSecret(input["SecretId"]));
    },
    "secretsmanager.ListSecrets"(input) {
      const limit = pageLimit(input["MaxResults"], 100, "maxResults");
      const all = [...secrets.values()];
      const start = offsetOf(input["NextToken"], all.length, "InvalidNextTokenException");
      const page = all.slice(start, start + Math.min(limit, maxPageSize));
      const next = start + page.length;
      return {
        SecretList: page.map((s) => ({ ARN: s.arn, Name: s.name, CreatedDate: s.created, LastChangedDate: s.created })),
        ...(next < all.length ? { NextToken: tokenOf(next) } : {}),
      };
    },
    "secretsmanager.BatchGetSecretValue"(input) {
      if (input["Filters"] !== undefined || input["MaxResults"] !== undefined || input["NextToken"] !== undefined) {
        throw new AwsError("ValidationException", "this stand-in supports BatchGetSecretValue with SecretIdList only");
      }
      const ids = input["SecretIdList"];
      if (!Array.isArray(ids) || ids.length < 1 || ids.length > 20) {
        throw new AwsError("ValidationException", "1 validation error detected: Value at 'secretIdList' failed to satisfy constraint: Member must have length between 1 and 20");
      }
      const values: Json[] = [];
      const errors: Json[] = [];
      for (const id of ids) {
        try {
          values.push(secretValue(findSecret(id)));
        } catch (error) {
          if (!(error instanceof AwsError)) throw error;
          errors.push({ SecretId: id, ErrorCode: error.type, Message: error.message });
        }
      }
      return { SecretValues: values, Errors: errors };
    },

    "AmazonSSM.PutParameter"(input) {
      const name = requiredString(input["Name"], "Name");
      const value = requiredString(input["Value"], "Value");
      checkParameterName(name);
      const existing = parameters.get(name);
      if (existing && input["Overwrite"] !== true) {
        throw new AwsError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.");
      }
      const type = (input["Type"] ?? existing?.type) as StoredParameter["type"] | undefined;
      if (type !== "String" && type !== "StringList" && type !== "SecureString") {
        throw new AwsError("ValidationException", "A parameter type is required when you create a parameter.");
      }
      const version = (existing?.version ?? 0) + 1;
      parameters.set(name, { name, type, value, version, modified: now() });
      return { Version: version, Tier: "Standard" };
    },
    "AmazonSSM.GetParameter"(input) {
      const name = requiredString(input["Name"], "Name");
      const parameter = parameters.get(name);
      if (!parameter) throw new AwsError("ParameterNotFound", "");
      return { Parameter: parameterJson(parameter, input["WithDecryption"] === true) };
    },
    "AmazonSSM.GetParameters"(input) {
      const names = input["Names"];
      if (!Array.isArray(names) || names.length < 1 || names.length > 10) {
        throw new AwsError("ValidationException", "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10");
      }
      const found = names.flatMap((name) => {
        const parameter = parameters.get(String(name));
        return parameter ? [parameterJson(parameter, input["WithDecryption"] === true)] : [];
      });
      return { Parameters: found, InvalidParameters: names.filter((name) => !parameters.has(String(name))) };
    },
    "AmazonSSM.DescribeParameters"(input) {
      if (input["Filters"] !== undefined) throw new AwsError("ValidationException", "this stand-in supports ParameterFilters only");
      const filters = (input["ParameterFilters"] ?? []) as Array<{ Key?: string; Option?: string; Values?: string[] }>;
      const matchers = filters.map((filter) => {
        if (filter.Key !== "Name") throw new AwsError("ValidationException", `this stand-in supports the Name filter only, not ${filter.Key}`);
        const option = filter.Option ?? "Equals";
        if (option !== "Equals" && option !== "BeginsWith") throw new AwsError("InvalidFilterOption", `The filter option ${option} is not valid for the Name key.`);
        const values = filter.Values ?? [];
        return (name: string) => values.some((value) => (option === "Equals" ? name === value : name.startsWith(value)));
      });
      const limit = pageLimit(input["MaxResults"], 50, "maxResults");
      const all = [...parameters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const start = offsetOf(input["NextToken"], all.length, "InvalidNextToken");
      const scanned = all.slice(start, start + Math.min(limit, maxPageSize));
      const next = start + scanned.length;
      return {
        Parameters: scanned
          .filter((p) => matchers.every((matches) => matches(p.name)))
          .map((p) => ({ Name: p.name, ARN: parameterArn(p.name), Type: p.type, Version: p.version, LastModifiedDate: p.modified, Tier: "Standard", DataType: "text" })),
        ...(next < all.length ? { NextToken: tokenOf(next) } : {}),
      };
    },
  };

  const server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers["x-amz-target"] ?? "");
    const answer = (status: number, body: Json) => {
      res.writeHead(status, { "Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": randomUUID() });
      res.end(JSON.stringify(body));
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      calls.push(target);
      const service = target.startsWith("secretsmanager.") ? "secretsmanager" : target.startsWith("AmazonSSM.") ? "ssm" : undefined;
      const handler = handlers[target];
      if (req.method !== "POST" || !service || !handler) throw new AwsError("UnknownOperationException", "");
      authenticate(req, body, service);
      if (denied.has(target)) {
        const [, operation] = target.split(".");
        throw new AwsError("AccessDeniedException", `User: arn:aws:iam::${account}:user/mecha-test is not authorized to perform: ${service}:${operation} because no identity-based policy allows the ${service}:${operation} action`);
      }
      let input: Json;
      try {
        input = body.length ? (JSON.parse(body.toString("utf8")) as Json) : {};
      } catch {
        throw new AwsError("SerializationException", "");
      }
      answer(200, handler(input));
    } catch (error) {
      if (error instanceof AwsError) answer(error.status, { __type: error.type, message: error.message });
      else answer(500, { __type: "InternalFailure", message: (error as Error).message });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    region,
    credentials,
    sessionCredentials,
    clientConfig: { endpoint, region, credentials },
    metadata: (extra = {}) => ({ endpoint, region, accessKey: credentials.accessKeyId, secretKey: credentials.secretAccessKey, ...extra }),
    calls,
    deny(target) {
      denied.add(target);
      return () => denied.delete(target);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Signature Version 4, checked as AWS checks it for a JSON 1.1 request (POST /, no query string).

function authenticate(req: IncomingMessage, body: Buffer, service: string): void {
  const authorization = String(req.headers["authorization"] ?? "");
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!match) throw new AwsError("MissingAuthenticationTokenException", "Request is missing Authentication Token");
  const [, keyId, date, signedRegion, signedService, signedHeaders, signature] = match as unknown as string[];
  const known = [credentials, sessionCredentials].find((c) => c.accessKeyId === keyId);
  const token = req.headers["x-amz-security-token"];
  if (!known || (known.sessionToken ?? undefined) !== (token ?? undefined)) {
    throw new AwsError("UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  if (signedService !== service) throw new AwsError("InvalidSignatureException", `Credential should be scoped to correct service: '${service}'.`);
  const amzDate = String(req.headers["x-amz-date"] ?? "");
  const canonicalHeaders = signedHeaders!
    .split(";")
    .map((name) => `${name}:${String(req.headers[name] ?? "").trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const payloadHash = String(req.headers["x-amz-content-sha256"] ?? sha256(body));
  const canonicalRequest = [req.method, "/", "", canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const scope = `${date}/${signedRegion}/${signedService}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  let key = hmac(`AWS4${known.secretAccessKey}`, date!);
  for (const part of [signedRegion!, signedService!, "aws4_request"]) key = hmac(key, part);
  if (hmac(key, stringToSign).toString("hex") !== signature) {
    throw new AwsError(
      "InvalidSignatureException",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
  }
}

const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();

// ---------------------------------------------------------------------------------------------

function requiredString(value: unknown, field: string): string {
  if (typeof value !== "string" || !value) {
    throw new AwsError("ValidationException", `1 validation error detected: Value at '${field[0]!.toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

/** SSM's name rules: `a-zA-Z0-9_.-` and `/`; a hierarchical name starts with `/`; no `aws`/`ssm` prefix. */
function checkParameterName(name: string): void {
  if (!/^[A-Za-z0-9_.\-/]{1,2048}$/.test(name)) {
    throw new AwsError("ValidationException", "Parameter name must only contain letters, numbers, and the symbols _.-/");
  }
  if (name.includes("/") && !name.startsWith("/")) throw new AwsError("ValidationException", "Parameter name must be a fully qualified name.");
  if (/^\/?(aws|ssm)/i.test(name)) throw new AwsError("ValidationException", `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive).`);
}

function pageLimit(value: unknown, max: number, field: string): number {
  if (value === undefined) return max;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new AwsError("ValidationException", `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must have value between 1 and ${max}`);
  }
  return value;
}

const tokenOf = (offset: number): string => Buffer.from(JSON.stringify({ offset })).toString("base64");

function offsetOf(token: unknown, length: number, errorType: string): number {
  if (token === undefined) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(String(token), "base64").toString("utf8")) as { offset?: unknown };
    if (typeof offset === "number" && Number.isInteger(offset) && offset >= 0 && offset <= length) return offset;
  } catch {
    // falls through to the error below
  }
  throw new AwsError(errorType, "The nextToken is not valid.");
}
