/**
 * `secretstores.aws.secretmanager`: secrets from AWS Secrets Manager, as Dapr's component reads
 * them. A secret is `{ [its name]: SecretString }`: the text as stored, JSON or not, under the
 * secret's name as Secrets Manager gives it (so a secret asked for by ARN answers under its name).
 * A secret that does not exist, or has no current value, is `undefined`.
 *
 * `bulkGet` pages through ListSecrets and reads the values 20 at a time with BatchGetSecretValue;
 * where that is refused (an IAM policy that grants only `secretsmanager:GetSecretValue`, as Dapr's
 * docs list, or an emulator without it) it reads them one by one with GetSecretValue instead.
 *
 * A binary secret (SecretBinary, no SecretString) is not read: Dapr's store answers nothing for
 * one, which a function would only notice later. Here `get` fails saying so, and `bulkGet` leaves
 * it out with a warning. Store such values as text (base64) to read them.
 *
 * Values never appear in an error or a log line; nor do the configured credentials.
 *
 * @example
 * spec:
 *   type: secretstores.aws.secretmanager
 *   version: v1
 *   metadata:
 *     - { name: region, value: eu-west-1 }   # credentials: the Lambda role, or accessKey/secretKey
 */
import type { GetSecretValueCommandOutput, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SecretStoreComponent } from "../../blocks/secrets.ts";
import { ErrorCodes, MechaError } from "../../errors.ts";
import { awsCaller, awsLocation, readAwsClientConfig, safeAwsError } from "../aws-client-config.ts";
import { batchReads, unlessAwsError, unlessBatchRefused } from "./aws-batch-reads.ts";
import type { ComponentOptions } from "../types.ts";

export const type = "secretstores.aws.secretmanager";
/** ListSecrets' largest page. */
const listPageSize = 100;
/** BatchGetSecretValue's most secrets per SecretIdList. */
const batchSize = 20;
/** The errors that mean BatchGetSecretValue is not allowed here, so single gets must do. */

type Sdk = typeof import("@aws-sdk/client-secrets-manager");

interface Connection {
  sdk: Sdk;
  client: SecretsManagerClient;
}

/** What Secrets Manager holds for one secret, as both GetSecretValue and BatchGetSecretValue answer. */
type SecretValue = Pick<GetSecretValueCommandOutput, "Name" | "SecretString" | "SecretBinary">;

/**
 * Creates the store; connects on first use. Reads Dapr's metadata: `region` (else the AWS SDK's,
 * or `us-east-1` with an `endpoint`), `endpoint` (an emulator such as LocalStack), `accessKey`,
 * `secretKey` and `sessionToken` (else the AWS SDK's default credential chain), and
 * `multipleKeyValuesPerSecret` (default false: with true, a secret whose text is a JSON object of
 * strings is that object's keys and values; other secrets stay `{ [name]: text }`).
 */
export function create({ name, metadata, logger }: ComponentOptions): SecretStoreComponent {
  const config = readAwsClientConfig(metadata);
  const multipleKeyValues = metadata.boolean("multipleKeyValuesPerSecret", false);
  const label = `secret store "${name}" (${type})`;

  const send = awsCaller<Connection>({
    label,
    component: name,
    config,
    code: ErrorCodes.secretGet,
    packageName: "@aws-sdk/client-secrets-manager",
    connect: async () => {
      const sdk = await import("@aws-sdk/client-secrets-manager");
      return { sdk, client: new sdk.SecretsManagerClient(config) };
    },
    destroy: ({ client }) => client.destroy(),
  });

  /** The secret's values; undefined for a binary secret. */
  const valuesOf = (secretName: string, secret: SecretValue): Record<string, string> | undefined => {
    if (secret.SecretString === undefined) return undefined;
    return (multipleKeyValues && stringMap(secret.SecretString)) || { [secretName]: secret.SecretString };
  };

  /** GetSecretValue; undefined for a secret that is gone or has no current value. */
  const getOne = (key: string): Promise<SecretValue | undefined> =>
    send(`get secret "${key}"`, ({ sdk, client }) => unlessAwsError("ResourceNotFoundException", () => client.send(new sdk.GetSecretValueCommand({ SecretId: key }))));

  /** The values of up to 20 listed secrets; those deleted since they were listed are left out. */
  const getMany = batchReads<SecretValue>({
    batch: async (names) => {
      const batch = await send(`get ${names.length} secret(s) with BatchGetSecretValue`, ({ sdk, client }) =>
        unlessBatchRefused(() => client.send(new sdk.BatchGetSecretValueCommand({ SecretIdList: [...names] }))),
      );
      if (!batch) return undefined;
      const failed = batch.Errors?.find((e) => e.ErrorCode !== "ResourceNotFoundException");
      if (failed) {
        const cause = safeAwsError(Object.assign(new Error(failed.Message ?? ""), { name: failed.ErrorCode ?? "Error" }), config);
        throw new MechaError(ErrorCodes.secretGet, `${label}: get secret "${failed.SecretId}"${awsLocation(config)} failed: ${cause.message}`, { component: name, cause });
      }
      return batch.SecretValues ?? [];
    },
    one: getOne,
    batchCall: "BatchGetSecretValue",
    oneCall: "GetSecretValue",
    logger,
  });

  return {
    type,
    async get(key) {
      if (!key) return undefined;
      const secret = await getOne(key);
      if (!secret) return undefined;
      const secretName = secret.Name ?? key;
      const values = valuesOf(secretName, secret);
      if (!values) {
        throw new MechaError(
          ErrorCodes.secretGet,
          `${label}: secret "${secretName}" holds binary data (SecretBinary); this store reads text secrets (SecretString) only: store the value as text, e.g. base64`,
          { component: name },
        );
      }
      return values;
    },

    async bulkGet() {
      const secrets: Record<string, Record<string, string>> = {};
      const binary: string[] = [];
      for (let NextToken: string | undefined; ; ) {
        const page = await send("list secrets", ({ sdk, client }) => client.send(new sdk.ListSecretsCommand({ MaxResults: listPageSize, NextToken })));
        const names = (page.SecretList ?? []).flatMap((entry) => (entry.Name ? [entry.Name] : []));
        for (let i = 0; i < names.length; i += batchSize) {
          for (const secret of await getMany(names.slice(i, i + batchSize))) {
            if (!secret.Name) continue;
            const values = valuesOf(secret.Name, secret);
            if (values) secrets[secret.Name] = values;
            else binary.push(secret.Name);
          }
        }
        if (!(NextToken = page.NextToken)) break;
      }
      if (binary.length) logger?.warn("left binary secrets (SecretBinary) out of bulkGet: this store reads text secrets only", { secrets: binary });
      return secrets;
    },

    close: () => send.close(),
  };
}

/**
 * The keys and values of a JSON object whose values are all strings, as Dapr's
 * `multipleKeyValuesPerSecret` reads a secret; undefined for any other text.
 */
function stringMap(text: string): Record<string, string> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const entries = Object.entries(parsed);
  return entries.every(([, value]) => typeof value === "string") ? (Object.fromEntries(entries) as Record<string, string>) : undefined;
}
