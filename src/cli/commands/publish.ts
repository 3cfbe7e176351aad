/** `mecha publish`: put one event on a topic, through the same components the host uses. */
import { defaults, expectPositionals, parseCommand, parseJsonArgument, sharedOptions } from "../args.ts";
import type { CommandOutcome, CommandRun } from "../command.ts";
import { withRuntime } from "../open-runtime.ts";
import { formatUsage, type UsageText } from "../usage.ts";

const publishOptions = {
  resources: sharedOptions.resources,
  "app-id": { ...sharedOptions["app-id"], description: "app id: the event's source" },
  "content-type": { type: "string", placeholder: "type", description: "the data's content type; with text/plain, <data> is sent as text" },
  raw: { type: "boolean", description: "publish the data without a CloudEvent envelope" },
  json: { ...sharedOptions.json, description: "print the result as JSON" },
  help: sharedOptions.help,
} as const;

const usage: UsageText = {
  synopsis: "mecha publish <pubsub> <topic> <data> [options]",
  description:
    "Publishes one event as a CloudEvent (or raw with --raw). With a durable pub/sub such as\n" +
    "pubsub.sqlite, a running `mecha start` in the same folder receives it.",
  arguments: [
    ["<pubsub>", "the pub/sub component's name"],
    ["<topic>", "the topic"],
    ["<data>", "the event data as JSON (quote it for the shell)"],
  ],
  options: publishOptions,
  examples: [
    `mecha publish orderbus orders.placed '{"id":"42","item":"tea","quantity":1}'`,
    `mecha publish orderbus notes 'hello' --content-type text/plain`,
  ],
};

export async function run({ argv, io, output }: CommandRun): Promise<CommandOutcome> {
  const { values, positionals } = parseCommand("publish", argv, publishOptions);
  if (values.help) {
    output.line(formatUsage(usage, output.color));
    return 0;
  }
  const [pubsub, topic, text] = expectPositionals("publish", positionals, ["pubsub", "topic", "data"]) as [string, string, string];
  const contentType = values["content-type"];
  const data = readData(text, contentType);
  await withRuntime({ resources: values.resources ?? defaults.resources, appId: values["app-id"] ?? defaults.appId, io }, (runtime) =>
    runtime.publish(pubsub, topic, data, {
      ...(contentType ? { contentType } : {}),
      ...(values.raw ? { rawPayload: true } : {}),
    }),
  );
  if (values.json) output.json({ published: true, pubsub, topic });
  else output.line(`${output.color.green("✓")} published to ${output.color.bold(`${pubsub}/${topic}`)}`);
  return 0;
}

/**
 * JSON by default, so that a typo is an error rather than a string event. With
 * `--content-type text/plain` the argument is the text itself, as given.
 */
function readData(text: string, contentType: string | undefined): unknown {
  if (contentType?.split(";")[0]?.trim().toLowerCase() === "text/plain") return text;
  return parseJsonArgument(text, "<data>", `quote it for the shell, e.g. '{"id":"42"}', or pass --content-type text/plain to send text`);
}
