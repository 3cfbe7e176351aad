/**
 * The AWS SAM template (template.yaml) of a Lambda build: the function with its HTTP API routes,
 * SQS triggers and schedules; an SNS topic per topic and, per subscription, an SQS queue with a
 * redrive policy to its dead-letter queue, the queue policy that lets the topic send to it and
 * the raw-delivery subscription; the DynamoDB tables and S3 buckets of the components; and a
 * policy granting the function exactly those.
 *
 * Intrinsic functions are written in their long form (`{ Ref: … }`, `{ "Fn::GetAtt": […] }`),
 * which any YAML reader takes; `sam deploy --template <out>/template.yaml` deploys it.
 */
import { stringify } from "yaml";
import type { LambdaResources } from "./aws-resources.ts";

/** The function's settings; the build's defaults are in {@link defaultFunctionSettings}. */
export interface FunctionSettings {
  /** The folder with the bundle, relative to the template. */
  codeUri: string;
  /** `<file without extension>.<export>`, e.g. `index.handler`. */
  handler: string;
  runtime: string;
  memorySize: number;
  /** Seconds. SQS queues get six times this as their visibility timeout, as AWS advises. */
  timeout: number;
}

export const defaultFunctionSettings: Omit<FunctionSettings, "codeUri" | "handler"> = {
  runtime: "nodejs20.x",
  memorySize: 512,
  timeout: 30,
};

/** The logical id of the app's function. */
export const functionLogicalId = "MechaFunction";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const ref = (logicalId: string): Json => ({ Ref: logicalId });
const getAtt = (logicalId: string, attribute: string): Json => ({ "Fn::GetAtt": [logicalId, attribute] });
const arn = (service: string, resource: string): Json => ({ "Fn::Sub": `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}` });

/** The template as data. */
export function samTemplate(appId: string, aws: LambdaResources, settings: FunctionSettings): JsonObject {
  const ids = new LogicalIds();
  const resources: JsonObject = {};
  const events: JsonObject = {};
  const statements: Json[] = [];

  const topicIds = new Map<string, string>();
  for (const topic of aws.topics) {
    const id = ids.take("Topic", topic.name);
    topicIds.set(topic.name, id);
    resources[id] = { Type: "AWS::SNS::Topic", Properties: { TopicName: topic.name } };
  }
  if (aws.topics.length) {
    // The runtime creates a topic it publishes to on first use (CreateTopic is idempotent and
    // answers the existing topic's ARN), so it needs both actions on the app's topics.
    statements.push({ Effect: "Allow", Action: ["sns:CreateTopic", "sns:Publish"], Resource: aws.topics.map((t) => arn("sns", t.name)) });
  }

  for (const queue of aws.queues) {
    const queueId = ids.take("Queue", queue.queue);
    const deadLetterId = ids.take("DeadLetterQueue", queue.queue);
    const topicId = topicIds.get(queue.topicName)!;
    resources[deadLetterId] = { Type: "AWS::SQS::Queue", Properties: { QueueName: queue.deadLetterQueue, MessageRetentionPeriod: 1_209_600 } };
    resources[queueId] = {
      Type: "AWS::SQS::Queue",
      Properties: {
        QueueName: queue.queue,
        VisibilityTimeout: settings.timeout * 6,
        RedrivePolicy: { deadLetterTargetArn: getAtt(deadLetterId, "Arn"), maxReceiveCount: queue.maxReceiveCount },
      },
    };
    resources[ids.take("QueuePolicy", queue.queue)] = {
      Type: "AWS::SQS::QueuePolicy",
      Properties: {
        Queues: [ref(queueId)],
        PolicyDocument: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "sns.amazonaws.com" },
              Action: "sqs:SendMessage",
              Resource: getAtt(queueId, "Arn"),
              Condition: { ArnEquals: { "aws:SourceArn": ref(topicId) } },
            },
          ],
        },
      },
    };
    resources[ids.take("Subscription", queue.queue)] = {
      Type: "AWS::SNS::Subscription",
      Properties: { TopicArn: ref(topicId), Protocol: "sqs", Endpoint: getAtt(queueId, "Arn"), RawMessageDelivery: true },
    };
    events[ids.take("Sqs", queue.queue)] = {
      Type: "SQS",
      Properties: { Queue: getAtt(queueId, "Arn"), BatchSize: queue.batchSize, FunctionResponseTypes: ["ReportBatchItemFailures"] },
    };
  }

  for (const route of aws.routes) {
    events[ids.take("Http", `${route.method}${route.path}`)] = {
      Type: "HttpApi",
      Properties: route.path === "$default" ? {} : { Path: route.path, Method: route.method },
    };
  }

  for (const schedule of aws.schedules) {
    events[ids.take("Schedule", schedule.function)] = {
      Type: "Schedule",
      Properties: { Name: schedule.rule, Schedule: schedule.expression, Description: `${schedule.function}: ${schedule.schedule}` },
    };
  }

  for (const table of aws.tables) {
    const attributes: JsonObject = {
      TableName: table.table,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: table.partitionKey, AttributeType: "S" }],
      KeySchema: [{ AttributeName: table.partitionKey, KeyType: "HASH" }],
    };
    if (table.ttlAttribute) attributes.TimeToLiveSpecification = { AttributeName: table.ttlAttribute, Enabled: true };
    resources[ids.take("Table", table.table)] = { Type: "AWS::DynamoDB::Table", Properties: attributes };
  }
  if (aws.tables.length) {
    statements.push({
      Effect: "Allow",
      Action: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:TransactWriteItems"],
      Resource: aws.tables.map((t) => arn("dynamodb", `table/${t.table}`)),
    });
  }

  for (const bucket of aws.buckets) {
    const bucketId = ids.take("Bucket", bucket.bucket);
    resources[bucketId] = { Type: "AWS::S3::Bucket", Properties: { BucketName: bucket.bucket } };
    if (bucket.functions.length) {
      events[ids.take("S3", bucket.bucket)] = { Type: "S3", Properties: { Bucket: ref(bucketId), Events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"] } };
    }
  }
  if (aws.buckets.length) {
    // By name, not by Ref: a bucket whose events trigger the function would otherwise depend on
    // the function's role while the role depends on the bucket — a circular dependency.
    const bucketArn = (name: string, path = "") => ({ "Fn::Sub": `arn:\${AWS::Partition}:s3:::${name}${path}` });
    statements.push(
      { Effect: "Allow", Action: ["s3:ListBucket"], Resource: aws.buckets.map((b) => bucketArn(b.bucket)) },
      { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: aws.buckets.map((b) => bucketArn(b.bucket, "/*")) },
    );
  }

  if (aws.secrets.secretsManager) {
    statements.push(
      { Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"], Resource: arn("secretsmanager", "secret:*") },
      // Listing cannot be narrowed to resources (bulk reads only).
      { Effect: "Allow", Action: ["secretsmanager:ListSecrets"], Resource: "*" },
    );
  }
  if (aws.secrets.parameterPrefixes.length) {
    statements.push(
      {
        Effect: "Allow",
        Action: ["ssm:GetParameter", "ssm:GetParameters"],
        Resource: aws.secrets.parameterPrefixes.map((prefix) => arn("ssm", `parameter/${prefix.replace(/^\//, "")}*`)),
      },
      // Listing cannot be narrowed to resources (bulk reads only).
      { Effect: "Allow", Action: ["ssm:DescribeParameters"], Resource: "*" },
    );
  }

  const functionProperties: JsonObject = {
    CodeUri: settings.codeUri,
    Handler: settings.handler,
    Runtime: settings.runtime,
    MemorySize: settings.memorySize,
    Timeout: settings.timeout,
    Events: events,
  };
  if (statements.length) functionProperties.Policies = [{ Version: "2012-10-17", Statement: statements }];
  resources[functionLogicalId] = { Type: "AWS::Serverless::Function", Properties: functionProperties };

  const outputs: JsonObject = {
    FunctionName: { Description: "The app's Lambda function", Value: ref(functionLogicalId) },
  };
  if (aws.routes.length) {
    outputs.ApiUrl = { Description: "The HTTP API's URL", Value: { "Fn::Sub": "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" } };
  }
  return {
    AWSTemplateFormatVersion: "2010-09-09",
    Transform: "AWS::Serverless-2016-10-31",
    Description: `mecha app ${appId}`,
    Resources: resources,
    Outputs: outputs,
  };
}

/** The template as YAML, with a header saying where it came from. */
export function samTemplateYaml(appId: string, aws: LambdaResources, settings: FunctionSettings): string {
  const header = [
    "# Generated by `mecha build --target lambda`; every build rewrites it. Edit the functions or",
    "# the resources folder instead. Deploy with: sam deploy --guided --template-file <this file>",
  ].join("\n");
  return `${header}\n${stringify(samTemplate(appId, aws, settings), { lineWidth: 0 })}`;
}

/**
 * CloudFormation logical ids: alphanumeric, unique in the template. A name is turned into
 * PascalCase; a clash gets a number.
 */
class LogicalIds {
  readonly #taken = new Set<string>();

  take(prefix: string, name: string): string {
    const base = `${prefix}${name.split(/[^A-Za-z0-9]+/).map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join("")}`.slice(0, 240);
    let id = base;
    for (let n = 2; this.#taken.has(id); n++) id = `${base}${n}`;
    this.#taken.add(id);
    return id;
  }
}
