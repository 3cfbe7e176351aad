/**
 * `mecha events <kind>`: print a sample AWS event for a Lambda trigger — complete and
 * real-shaped, with fresh ids and times — to replay with `mecha invoke --target lambda --event`.
 * Options fill in what an app routes on (a path, a queue, a rule, a bucket), so that nobody has
 * to edit the JSON by hand.
 */
import { sqsQueueName } from "../../components/pubsub/aws-snssqs.ts";
import { expectPositionals, helpHint, parseCommand, parseJsonArgument, sharedOptions, type ParsedValues } from "../args.ts";
import type { CommandOutcome, CommandRun } from "../command.ts";
import { ExitCodes, UsageError } from "../errors.ts";
import { httpRequest } from "../lambda-events/http-request.ts";
import { eventKinds, isEventKind, sampleData, sampleDefaults, sampleEvent, type EventKindName, type SampleEventRequest, type SampleOption } from "../lambda-events/kinds.ts";
import type { SampleMessage } from "../lambda-events/messages.ts";
import { defaultRegion } from "../lambda-events/sample-values.ts";
import type { Output } from "../output.ts";
import { formatUsage, type UsageText } from "../usage.ts";

const kindNames = Object.keys(eventKinds) as EventKindName[];

const eventsOptions = {
  list: { type: "boolean", short: "l", description: "list the kinds, a line on each (also without <kind>)" },
  method: { type: "string", short: "X", placeholder: "method", description: "http kinds: the method (default GET, or POST with --body)" },
  path: { type: "string", placeholder: "path", description: "http kinds: the path and query string", defaultValue: "/" },
  header: { type: "string", short: "H", multiple: true, placeholder: "name:value", description: "http kinds: a request header" },
  body: {
    type: "string",
    multiple: true,
    placeholder: "text",
    description: "http kinds: the request body; sqs, sns: a raw message body, a record each",
  },
  data: {
    type: "string",
    multiple: true,
    placeholder: "json",
    description: "sqs, sns: a CloudEvent's data, a record each (first, then --body ones)",
    defaultValue: JSON.stringify(sampleData),
  },
  topic: { type: "string", placeholder: "topic", description: "sqs, sns: the CloudEvent's topic (sns: the SNS topic's too)", defaultValue: sampleDefaults.topic },
  pubsub: { type: "string", placeholder: "name", description: "sqs, sns: the CloudEvent's pub/sub component", defaultValue: sampleDefaults.pubsub },
  "app-id": { ...sharedOptions["app-id"], description: "sqs, sns: the CloudEvent's source, the publishing app" },
  queue: { type: "string", placeholder: "name", description: "sqs: the queue's name", defaultValue: sampleDefaults.queue },
  subscription: { type: "string", placeholder: "name", description: "sqs: the queue of this subscription, <app-id>.<module>.<export>" },
  rule: { type: "string", placeholder: "name", description: "schedule: the EventBridge rule's name", defaultValue: sampleDefaults.rule },
  bucket: { type: "string", placeholder: "name", description: "s3 kinds: the bucket", defaultValue: sampleDefaults.bucket },
  key: { type: "string", placeholder: "key", description: "s3 kinds: the object key, as stored (it is encoded as S3 does)", defaultValue: sampleDefaults.key },
  size: { type: "string", placeholder: "bytes", description: "s3-put: the object's size", defaultValue: 1024 },
  region: { type: "string", placeholder: "region", description: "the AWS region in ARNs and host names", defaultValue: defaultRegion },
  json: { ...sharedOptions.json, description: "print the event on one line" },
  help: sharedOptions.help,
} as const;

type EventsValues = ParsedValues<typeof eventsOptions>;

const usage: UsageText = {
  synopsis: ["mecha events <kind> [options]", "mecha events --list"],
  description:
    "Prints a sample AWS event for a Lambda trigger as JSON: complete, as the service sends it,\n" +
    "with fresh ids and times. Save it and replay it against the built handler with\n" +
    "`mecha invoke --target lambda --event <file>`.\n" +
    `Kinds: ${kindNames.join(", ")}.`,
  arguments: [["<kind>", "the trigger; `mecha events --list` says what each is"]],
  options: eventsOptions,
  examples: [
    "mecha events http --method POST --path /orders --body '{\"id\":\"42\"}' > event.json",
    "mecha events sqs --subscription shop.orders.onPlaced --data '{\"id\":\"42\"}' --data '{\"id\":\"43\"}'",
    "mecha events schedule --rule shop-jobs.nightly",
    "mecha events s3-put --bucket shop-uploads --key 'invoices/march 2024.pdf'",
  ],
};

/** Runs `mecha events`. */
export async function run({ argv, output }: CommandRun): Promise<CommandOutcome> {
  const { values, positionals } = parseCommand("events", argv, eventsOptions);
  if (values.help) {
    output.line(formatUsage(usage, output.color));
    return ExitCodes.ok;
  }
  const [kind] = expectPositionals("events", positionals, ["kind?"]);
  if (kind === undefined || values.list) {
    if (kind !== undefined) throw new UsageError(`--list takes no <kind>, got "${kind}"`, helpHint("events"));
    printKinds(output, values.json ?? false);
    return ExitCodes.ok;
  }
  if (!isEventKind(kind)) {
    throw new UsageError(`unknown event kind "${kind}"; expected one of ${kindNames.join(", ")}`, `run "mecha events --list" for what each is`);
  }
  checkOptionsApply(kind, values);
  const event = await sampleEvent(kind, sampleRequest(kind, values));
  if (values.json) output.json(event);
  else output.line(JSON.stringify(event, null, 2));
  return ExitCodes.ok;
}

function printKinds(output: Output, json: boolean): void {
  if (json) {
    output.json({ kinds: kindNames.map((name) => ({ kind: name, description: eventKinds[name].description, options: eventKinds[name].options })) });
    return;
  }
  const { bold, cyan } = output.color;
  const width = Math.max(...kindNames.map((name) => name.length));
  output.line(bold("Sample events (mecha events <kind>):"));
  for (const name of kindNames) output.line(`  ${cyan(name.padEnd(width))}  ${eventKinds[name].description}`);
  output.line();
  output.line(`Replay one against the built handler: mecha events sqs > event.json && mecha invoke --target lambda --event event.json`);
}

/** An option the kind does not read is a mistake (a typo'd kind, a misplaced flag), not a no-op. */
function checkOptionsApply(kind: EventKindName, values: EventsValues): void {
  const reads: readonly SampleOption[] = eventKinds[kind].options;
  for (const option of Object.keys(values) as Array<keyof EventsValues>) {
    if (option === "list" || option === "json" || option === "help" || option === "region" || values[option] === undefined) continue;
    if (!reads.includes(option)) {
      const readers = kindNames.filter((name) => (eventKinds[name].options as readonly SampleOption[]).includes(option));
      throw new UsageError(`--${option} does not apply to ${kind} events (it does to ${readers.join(", ")})`, helpHint("events"));
    }
  }
}

/** The command line as a sample request, every value checked. */
function sampleRequest(kind: EventKindName, values: EventsValues): SampleEventRequest {
  const request: SampleEventRequest = {
    ...(values.region !== undefined ? { region: nonEmpty(values.region, "--region") } : {}),
    ...(values["app-id"] !== undefined ? { appId: nonEmpty(values["app-id"], "--app-id") } : {}),
    ...(values.pubsub !== undefined ? { pubsub: nonEmpty(values.pubsub, "--pubsub") } : {}),
    ...(values.topic !== undefined ? { topic: nonEmpty(values.topic, "--topic") } : {}),
    ...(values.rule !== undefined ? { rule: nonEmpty(values.rule, "--rule") } : {}),
    ...(values.bucket !== undefined ? { bucket: nonEmpty(values.bucket, "--bucket") } : {}),
    ...(values.key !== undefined ? { key: nonEmpty(values.key, "--key") } : {}),
    ...(values.size !== undefined ? { size: byteCount(values.size) } : {}),
  };
  if (values.queue !== undefined && values.subscription !== undefined) {
    throw new UsageError("give --queue or --subscription, not both", helpHint("events"));
  }
  if (values.queue !== undefined) request.queue = nonEmpty(values.queue, "--queue");
  if (values.subscription !== undefined) request.queue = sqsQueueName(nonEmpty(values.subscription, "--subscription"));
  // --body is an HTTP kind's request body, and a message kind's raw records.
  if ((eventKinds[kind].options as readonly SampleOption[]).includes("method")) {
    request.http = httpRequest({ ...values, command: "events" });
    return request;
  }
  const messages: SampleMessage[] = [
    ...(values.data ?? []).map((text): SampleMessage => ({ kind: "cloudevent", data: parseJsonArgument(text, "--data") })),
    ...(values.body ?? []).map((body): SampleMessage => ({ kind: "raw", body })),
  ];
  if (messages.length) request.messages = messages;
  return request;
}

function nonEmpty(value: string, flag: string): string {
  if (!value.trim()) throw new UsageError(`${flag} needs a value`, helpHint("events"));
  return value;
}

function byteCount(raw: string): number {
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--size must be a number of bytes, got "${raw}"`, helpHint("events"));
  return Number(raw);
}
