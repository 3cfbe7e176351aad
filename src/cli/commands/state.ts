/** `mecha state get|set|delete`: read and write a state store as the app's functions see it. */
import type { StateClient } from "../../blocks/state.ts";
import { defaults, expectPositionals, helpHint, parseCommand, parseJsonArgument, sharedOptions } from "../args.ts";
import type { CommandOutcome, CommandRun } from "../command.ts";
import { CliError, UsageError } from "../errors.ts";
import { withRuntime } from "../open-runtime.ts";
import { prettyValue, type Output } from "../output.ts";
import { formatUsage, type UsageText } from "../usage.ts";

const storeOptions = {
  resources: sharedOptions.resources,
  "app-id": sharedOptions["app-id"],
  json: { ...sharedOptions.json, description: "print the result as JSON" },
  help: sharedOptions.help,
} as const;

const etagOption = { type: "string", placeholder: "etag", description: "only if the stored etag is this one" } as const;

const getOptions = storeOptions;
const setOptions = {
  ...storeOptions,
  etag: etagOption,
  "first-write": { type: "boolean", description: "only if the key does not exist yet" },
  ttl: { type: "string", placeholder: "seconds", description: "expire the key after this many seconds; -1 removes a TTL (write --ttl=-1)" },
} as const;
const deleteOptions = { ...storeOptions, etag: etagOption } as const;

const stateUsage: UsageText = {
  synopsis: ["mecha state get <store> <key> [options]", "mecha state set <store> <key> <value> [options]", "mecha state delete <store> <key> [options]"],
  description:
    "Reads and writes a state store through its component, with the app id's key prefix, so\n" +
    "it sees the same keys as the running app. Run \"mecha state <subcommand> --help\" for options.",
  options: { help: sharedOptions.help },
};

const usages = {
  get: {
    synopsis: "mecha state get <store> <key> [options]",
    description: "Prints a key's value and etag. A missing key is exit code 1.",
    arguments: [["<store>", "the state component's name"], ["<key>", "the key, without the app id prefix"]],
    options: getOptions,
    examples: ["mecha state get orders 42", "mecha state get orders 42 --json"],
  },
  set: {
    synopsis: "mecha state set <store> <key> <value> [options]",
    description: "Saves a JSON value and prints its new etag. An etag that does not match is exit code 1.",
    arguments: [["<store>", "the state component's name"], ["<key>", "the key, without the app id prefix"], ["<value>", "the value as JSON (quote it for the shell)"]],
    options: setOptions,
    examples: [`mecha state set orders 42 '{"item":"tea"}'`, `mecha state set orders 42 '{"item":"tea"}' --first-write`, `mecha state set cache k '"v"' --ttl 60`],
  },
  delete: {
    synopsis: "mecha state delete <store> <key> [options]",
    description: "Deletes a key. Deleting a missing key is not an error.",
    arguments: [["<store>", "the state component's name"], ["<key>", "the key, without the app id prefix"]],
    options: deleteOptions,
    examples: ["mecha state delete orders 42", "mecha state delete orders 42 --etag 3"],
  },
} as const satisfies Record<string, UsageText>;

type Subcommand = keyof typeof usages;
const isSubcommand = (name: string | undefined): name is Subcommand => name !== undefined && Object.hasOwn(usages, name);

export async function run(request: CommandRun): Promise<CommandOutcome> {
  const [name, ...rest] = request.argv;
  if (name === "--help" || name === "-h" || name === "help") {
    request.output.line(formatUsage(stateUsage, request.output.color));
    return 0;
  }
  if (name === undefined) {
    throw new UsageError(`missing subcommand for "mecha state" (expected get, set or delete)`, helpHint("state"));
  }
  if (!isSubcommand(name)) {
    throw new UsageError(`unknown subcommand "${name}" for "mecha state" (expected get, set or delete)`, helpHint("state"));
  }
  return subcommands[name]({ ...request, argv: rest });
}

const subcommands: Record<Subcommand, (request: CommandRun) => Promise<CommandOutcome>> = {
  async get({ argv, io, output }) {
    const { values, positionals } = parseCommand("state get", argv, getOptions);
    if (values.help) return help(output, "get");
    const [store, key] = expectPositionals("state get", positionals, ["store", "key"]) as [string, string];
    const entry = await withStore(values, io, store, (client) => client.get(key));
    if (!entry) {
      if (values.json) {
        output.json({ key, found: false });
        return 1;
      }
      throw new CliError(`key "${key}" not found in state store "${store}" (app id "${values["app-id"] ?? defaults.appId}")`);
    }
    if (values.json) {
      output.json(entry.value instanceof Uint8Array
        ? { key, valueBase64: Buffer.from(entry.value).toString("base64"), etag: entry.etag }
        : { key, value: entry.value, etag: entry.etag });
    } else {
      output.line(prettyValue(entry.value));
      output.line(output.color.dim(`etag: ${entry.etag}`));
    }
    return 0;
  },

  async set({ argv, io, output }) {
    const { values, positionals } = parseCommand("state set", argv, setOptions);
    if (values.help) return help(output, "set");
    const [store, key, text] = expectPositionals("state set", positionals, ["store", "key", "value"]) as [string, string, string];
    const value = parseJsonArgument(text, "<value>");
    const ttlInSeconds = values.ttl === undefined ? undefined : parseTtlOption(values.ttl);
    const { etag } = await withStore(values, io, store, (client) =>
      client.set(key, value, {
        ...(values.etag !== undefined ? { etag: values.etag } : {}),
        ...(values["first-write"] ? { concurrency: "first-write" as const } : {}),
        ...(ttlInSeconds !== undefined ? { ttlInSeconds } : {}),
      }),
    );
    if (values.json) output.json({ key, etag });
    else output.line(`${output.color.green("✓")} saved ${output.color.bold(key)} ${output.color.dim(`etag: ${etag}`)}`);
    return 0;
  },

  async delete({ argv, io, output }) {
    const { values, positionals } = parseCommand("state delete", argv, deleteOptions);
    if (values.help) return help(output, "delete");
    const [store, key] = expectPositionals("state delete", positionals, ["store", "key"]) as [string, string];
    await withStore(values, io, store, (client) => client.delete(key, values.etag !== undefined ? { etag: values.etag } : {}));
    if (values.json) output.json({ key, deleted: true });
    else output.line(`${output.color.green("✓")} deleted ${output.color.bold(key)}`);
    return 0;
  },
};

function help(output: Output, subcommand: Subcommand): 0 {
  output.line(formatUsage(usages[subcommand], output.color));
  return 0;
}

function withStore<T>(
  values: { resources?: string; "app-id"?: string },
  io: CommandRun["io"],
  store: string,
  use: (client: StateClient) => Promise<T>,
): Promise<T> {
  return withRuntime({ resources: values.resources ?? defaults.resources, appId: values["app-id"] ?? defaults.appId, io }, async (runtime) =>
    use(await runtime.state(store)),
  );
}

/** A whole number of seconds > 0, or -1 to remove a TTL. */
function parseTtlOption(raw: string): number {
  const ttl = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || (ttl < 1 && ttl !== -1)) {
    throw new UsageError(`--ttl must be a whole number of seconds > 0, or -1 to remove the TTL; got "${raw}"`, helpHint("state set"));
  }
  return ttl;
}
