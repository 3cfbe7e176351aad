/**
 * `secretstores.aws.parameterstore`: secrets from AWS Systems Manager Parameter Store, as Dapr's
 * component reads them. A secret is one parameter, `{ [key]: value }`, read with decryption, so a
 * SecureString comes back as its plain text (a StringList as its comma-joined text). A parameter
 * that does not exist is `undefined`.
 *
 * Metadata `prefix` (Dapr's) is a plain string prefix, not a path: `get(key)` reads the parameter
 * named prefix + key, and `bulkGet` lists the parameters whose names begin with it (a
 * DescribeParameters `Name BeginsWith` filter, as Dapr sends), named without it. A hierarchy
 * works as a prefix too: `/myapp/prod/` makes `get("db")` read `/myapp/prod/db`.
 *
 * `bulkGet` pages through DescribeParameters and reads the values 10 at a time with GetParameters;
 * where that is refused (an IAM policy granting only `ssm:GetParameter`) it reads them one by one.
 *
 * Values never appear in an error or a log line; nor do the configured credentials.
 *
 * @example
 * spec:
 *   type: secretstores.aws.parameterstore
 *   version: v1
 *   metadata:
 *     - { name: region, value: eu-west-1 }
 *     - { name: prefix, value: /myapp/prod/ }
 */
import type { Parameter, SSMClient } from "@aws-sdk/client-ssm";
import type { SecretStoreComponent } from "../../blocks/secrets.ts";
import { ErrorCodes, MechaError } from "../../errors.ts";
import { awsCaller, readAwsClientConfig } from "../aws-client-config.ts";
import { batchReads, unlessAwsError, unlessBatchRefused } from "./aws-batch-reads.ts";
import type { ComponentOptions } from "../types.ts";

export const type = "secretstores.aws.parameterstore";
/** DescribeParameters' largest page. */
const describePageSize = 50;
/** GetParameters' most names per call. */
const batchSize = 10;

type Sdk = typeof import("@aws-sdk/client-ssm");

interface Connection {
  sdk: Sdk;
  client: SSMClient;
}

/**
 * Creates the store; connects on first use. Reads Dapr's metadata: `region` (else the AWS SDK's,
 * or `us-east-1` with an `endpoint`), `endpoint` (an emulator such as LocalStack), `accessKey`,
 * `secretKey` and `sessionToken` (else the AWS SDK's default credential chain), and `prefix`.
 */
export function create({ name, metadata, logger }: ComponentOptions): SecretStoreComponent {
  const config = readAwsClientConfig(metadata);
  const prefix = metadata.string("prefix", "");
  const label = `secret store "${name}" (${type})`;

  const send = awsCaller<Connection>({
    label,
    component: name,
    config,
    code: ErrorCodes.secretGet,
    packageName: "@aws-sdk/client-ssm",
    connect: async () => {
      const sdk = await import("@aws-sdk/client-ssm");
      return { sdk, client: new sdk.SSMClient(config) };
    },
    destroy: ({ client }) => client.destroy(),
  });

  /** GetParameter with decryption; undefined for a parameter that does not exist. */
  const getOne = (parameterName: string): Promise<Parameter | undefined> =>
    send(`get parameter "${parameterName}"`, async ({ sdk, client }) =>
      (await unlessAwsError("ParameterNotFound", () => client.send(new sdk.GetParameterCommand({ Name: parameterName, WithDecryption: true }))))?.Parameter,
    );

  /** Up to 10 listed parameters with their values; those deleted since they were listed are left out. */
  const getMany = batchReads<Parameter>({
    batch: (names) =>
      send(`get ${names.length} parameter(s) with GetParameters`, async ({ sdk, client }) => {
        const answer = await unlessBatchRefused(() => client.send(new sdk.GetParametersCommand({ Names: [...names], WithDecryption: true })));
        return answer && (answer.Parameters ?? []);
      }),
    one: getOne,
    batchCall: "GetParameters",
    oneCall: "GetParameter",
    logger,
  });

  return {
    type,
    async get(key) {
      if (!key) return undefined;
      const parameter = await getOne(prefix + key);
      return parameter && { [key]: parameter.Value ?? "" };
    },

    async bulkGet() {
      const secrets: Record<string, Record<string, string>> = {};
      const ParameterFilters = prefix ? [{ Key: "Name", Option: "BeginsWith", Values: [prefix] }] : undefined;
      // DescribeParameters filters after it pages: a page may be short, even empty, and still have a NextToken.
      for (let NextToken: string | undefined; ; ) {
        const page = await send(`list parameters${prefix ? ` beginning with "${prefix}"` : ""}`, ({ sdk, client }) =>
          client.send(new sdk.DescribeParametersCommand({ ParameterFilters, MaxResults: describePageSize, NextToken })),
        );
        const names = (page.Parameters ?? []).flatMap((p) => (p.Name && p.Name.length > prefix.length && p.Name.startsWith(prefix) ? [p.Name] : []));
        for (let i = 0; i < names.length; i += batchSize) {
          for (const parameter of await getMany(names.slice(i, i + batchSize))) {
            if (!parameter.Name?.startsWith(prefix)) continue;
            const key = parameter.Name.slice(prefix.length);
            secrets[key] = { [key]: parameter.Value ?? "" };
          }
        }
        if (!(NextToken = page.NextToken)) break;
      }
      return secrets;
    },

    close: () => send.close(),
  };
}
