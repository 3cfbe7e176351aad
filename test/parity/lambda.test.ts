/**
 * The example app on the Lambda target: built by `mecha build --target lambda` with
 * components/aws, the template's resources made on emulators (dynalite for DynamoDB, fauxqs for
 * SNS, SQS and S3, the Secrets Manager stand-in), and the bundle's `handler` invoked the way
 * Lambda invokes it: API Gateway HTTP API (v2) events for requests, and SQS events holding the
 * messages the emulator's queues actually hold, through an event source mapping that deletes what
 * the handler did not report as failed.
 *
 * The AWS SDK finds the emulators through the standard `AWS_ENDPOINT_URL_<SERVICE>` variables,
 * so the bundle is exactly what would be deployed.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { parse } from "yaml";
import { buildLambda } from "../../src/build/lambda/build.ts";
import { startAwsSecretsEmulator, type AwsSecretsEmulator } from "../support/aws-secrets-emulator.ts";
import { startDynalite, type Dynalite } from "../support/dynalite.ts";
import { startFauxqsOrSkip, type Fauxqs } from "../support/fauxqs.ts";
import { lambdaHttpEvent, lambdaHttpResponse, lambdaContext } from "../support/lambda-http.ts";
import { deployTemplate, type SamTemplate } from "../support/sam-emulator-deploy.ts";
import { startSqsEventSource, type EventSource } from "../support/sqs-event-source.ts";
import type { ParityDriver } from "./driver.ts";
import { describeExampleAppParity } from "./example-app.spec.ts";

const repo = resolve(import.meta.dirname, "../..");
const region = "us-east-1";

type Handler = (event: unknown, context: unknown) => Promise<any>;

function lambdaDriver(): ParityDriver {
  let dir: string | undefined;
  let dynalite: Dynalite | undefined;
  let fauxqs: Fauxqs | undefined;
  let secrets: AwsSecretsEmulator | undefined;
  let handler: Handler | undefined;
  const sources: EventSource[] = [];
  const clients: Array<{ destroy(): void }> = [];
  const savedEnv: Record<string, string | undefined> = {};
  const setEnv = (values: Record<string, string>) => {
    for (const [name, value] of Object.entries(values)) {
      if (!(name in savedEnv)) savedEnv[name] = process.env[name];
      process.env[name] = value;
    }
  };

  return {
    target: "lambda",
    async start() {
      fauxqs = await startFauxqsOrSkip("Lambda parity");
      if (!fauxqs) throw new Error("fauxqs could not start (see the warning above)");
      dynalite = await startDynalite();
      secrets = await startAwsSecretsEmulator();
      // What a Lambda execution environment has, with every AWS service pointed at an emulator.
      setEnv({
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: secrets.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: secrets.credentials.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
        AWS_ENDPOINT_URL_SNS: fauxqs.endpoint,
        AWS_ENDPOINT_URL_SQS: fauxqs.endpoint,
        AWS_ENDPOINT_URL_S3: fauxqs.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      });
      const secretsClient = new SecretsManagerClient(secrets.clientConfig);
      await secretsClient.send(new CreateSecretCommand({ Name: "receipt-signing-key", SecretString: "parity-test-key" }));
      secretsClient.destroy();

      dir = await mkdtemp(join(tmpdir(), "mecha-parity-lambda-"));
      const build = await buildLambda({ projectDir: repo, resources: "components/aws", functions: "functions", appId: "mecha-app", out: dir });
      const template = parse(await readFile(build.templateFile, "utf8")) as SamTemplate;
      const config = { region, endpoint: fauxqs.endpoint, credentials: { accessKeyId: "fauxqs", secretAccessKey: "fauxqs" } };
      const aws = {
        dynamodb: new DynamoDBClient({ region, endpoint: dynalite.endpoint, credentials: config.credentials }),
        s3: new S3Client({ ...config, forcePathStyle: true }),
        sns: new SNSClient(config),
        sqs: new SQSClient(config),
      };
      clients.push(...Object.values(aws));
      const deployed = await deployTemplate(template, aws);

      ({ handler } = (await import(pathToFileURL(build.bundle.file).href)) as { handler: Handler });
      const events = template.Resources.MechaFunction!.Properties.Events as Record<string, { Type: string; Properties: any }>;
      for (const event of Object.values(events).filter((e) => e.Type === "SQS")) {
        const queue = deployed.queues.get(event.Properties.Queue["Fn::GetAtt"][0])!;
        sources.push(
          startSqsEventSource({
            sqs: aws.sqs,
            queue,
            batchSize: event.Properties.BatchSize,
            region,
            handler: (sqsEvent) => handler!(sqsEvent, lambdaContext()),
            onError: (error) => console.error(`SQS event source for ${queue.name}:`, error),
          }),
        );
      }
    },
    async request(method, path, body, headers) {
      return lambdaHttpResponse(await handler!(lambdaHttpEvent(method, path, body, headers), lambdaContext()));
    },
    async stop() {
      await Promise.all(sources.map((source) => source.stop()));
      for (const client of clients) client.destroy();
      for (const [name, value] of Object.entries(savedEnv)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await Promise.all([fauxqs?.stop(), dynalite?.stop(), secrets?.stop()]);
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

describeExampleAppParity(lambdaDriver());
