/**
 * Makes the resources of a SAM template that `mecha build --target lambda` wrote on local
 * emulators, the way CloudFormation would make them on AWS: DynamoDB tables (dynalite), S3
 * buckets, SNS topics, SQS queues with their redrive policies and raw-delivery subscriptions
 * (fauxqs). So a parity run uses what the template says, not a hand-made copy of it: a queue the
 * template forgot, or a subscription without raw delivery, shows up as a failing test.
 *
 * Only the resource types the build writes are handled; any other type is an error.
 */
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { CreateTopicCommand, SubscribeCommand, type SNSClient } from "@aws-sdk/client-sns";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { waitFor } from "./wait.ts";

type Properties = Record<string, any>;
export interface SamTemplate {
  Resources: Record<string, { Type: string; Properties: Properties }>;
}

export interface EmulatorClients {
  dynamodb: DynamoDBClient;
  s3: S3Client;
  sns: SNSClient;
  sqs: SQSClient;
}

/** What was made: each queue's URL and ARN by logical id, each topic's ARN by logical id. */
export interface DeployedTemplate {
  queues: Map<string, { url: string; arn: string; name: string }>;
  topics: Map<string, string>;
}

/** The order CloudFormation's dependencies impose on what the build writes. */
const order = ["AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "AWS::SNS::Subscription", "AWS::Serverless::Function"];

export async function deployTemplate(template: SamTemplate, clients: EmulatorClients): Promise<DeployedTemplate> {
  const deployed: DeployedTemplate = { queues: new Map(), topics: new Map() };
  const entries = Object.entries(template.Resources);
  for (const [id, resource] of entries) {
    if (!order.includes(resource.Type)) throw new Error(`the template's ${id} is a ${resource.Type}, which this deployer does not make`);
  }
  const resolve = (value: any): any => {
    if (value?.Ref) return deployed.topics.get(value.Ref) ?? deployed.queues.get(value.Ref)?.url ?? fail(`Ref ${value.Ref}`);
    if (value?.["Fn::GetAtt"]) {
      const [id, attribute] = value["Fn::GetAtt"] as [string, string];
      if (attribute !== "Arn") fail(`GetAtt ${id}.${attribute}`);
      return deployed.queues.get(id)?.arn ?? fail(`GetAtt ${id}.Arn`);
    }
    return value;
  };
  // Dead-letter queues first: a queue's redrive policy names one.
  const queues = entries.filter(([, r]) => r.Type === "AWS::SQS::Queue").sort(([, a], [, b]) => Number(!!a.Properties.RedrivePolicy) - Number(!!b.Properties.RedrivePolicy));
  for (const type of order) {
    const ofType = type === "AWS::SQS::Queue" ? queues : entries.filter(([, r]) => r.Type === type);
    for (const [id, { Properties: p }] of ofType) {
      switch (type) {
        case "AWS::DynamoDB::Table": {
          await clients.dynamodb.send(
            new CreateTableCommand({ TableName: p.TableName, AttributeDefinitions: p.AttributeDefinitions, KeySchema: p.KeySchema, BillingMode: p.BillingMode }),
          );
          await waitFor(async () => (await clients.dynamodb.send(new DescribeTableCommand({ TableName: p.TableName }))).Table?.TableStatus === "ACTIVE" || undefined, {
            timeoutMs: 10_000,
            what: `table ${p.TableName} active`,
          });
          // dynalite has no UpdateTimeToLive; the store hides expired items on read either way.
          break;
        }
        case "AWS::S3::Bucket":
          await clients.s3.send(new CreateBucketCommand({ Bucket: p.BucketName }));
          break;
        case "AWS::SNS::Topic": {
          const { TopicArn } = await clients.sns.send(new CreateTopicCommand({ Name: p.TopicName }));
          deployed.topics.set(id, TopicArn!);
          break;
        }
        case "AWS::SQS::Queue": {
          const attributes: Record<string, string> = {};
          if (p.VisibilityTimeout !== undefined) attributes.VisibilityTimeout = String(p.VisibilityTimeout);
          if (p.MessageRetentionPeriod !== undefined) attributes.MessageRetentionPeriod = String(p.MessageRetentionPeriod);
          if (p.RedrivePolicy) {
            attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: resolve(p.RedrivePolicy.deadLetterTargetArn), maxReceiveCount: p.RedrivePolicy.maxReceiveCount });
          }
          const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: p.QueueName, Attributes: attributes }));
          const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
          deployed.queues.set(id, { url: QueueUrl!, arn: Attributes!.QueueArn!, name: p.QueueName });
          break;
        }
        case "AWS::SQS::QueuePolicy":
          // The emulator does not enforce queue policies; the reference check covers this one.
          break;
        case "AWS::SNS::Subscription":
          await clients.sns.send(
            new SubscribeCommand({
              TopicArn: resolve(p.TopicArn),
              Protocol: p.Protocol,
              Endpoint: resolve(p.Endpoint),
              Attributes: { RawMessageDelivery: String(p.RawMessageDelivery ?? false) },
            }),
          );
          break;
      }
    }
  }
  return deployed;
}

function fail(what: string): never {
  throw new Error(`the template refers to ${what}, which was not made`);
}
