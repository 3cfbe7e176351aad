/** The CLI's argument handling, in process: parsing, checks, help and exit codes. */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { defaults, expectPositionals, parseCommand, parseJsonArgument, parseLogLevel, parsePort, sharedOptions } from "../../src/cli/args.ts";
import { UsageError } from "../../src/cli/errors.ts";
import { main } from "../../src/cli/main.ts";
import { colorEnabled, type CliIo } from "../../src/cli/output.ts";

/** Runs `mecha ...argv` in this process with captured output. */
async function runMain(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const out = new PassThrough().setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  const err = new PassThrough().setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const io: CliIo = { stdout: out, stderr: err, env: { NO_COLOR: "1" }, cwd: process.cwd() };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const specs = { port: sharedOptions.port, json: sharedOptions.json, help: sharedOptions.help } as const;

describe("parseCommand", () => {
  it("reads long and short options and positionals", () => {
    expect(parseCommand("x", ["a", "-p", "8080", "--json", "b"], specs)).toEqual({
      values: { port: "8080", json: true },
      positionals: ["a", "b"],
    });
  });

  it("rejects an unknown option with a usage error naming it and the command", () => {
    expect(() => parseCommand("state get", ["--nope"], specs)).toThrow(`unknown option --nope for "mecha state get"`);
    expect(() => parseCommand("state get", ["-x"], specs)).toThrow(`unknown option -x for "mecha state get"`);
  });

  it("rejects a string option without a value, named by its long form", () => {
    expect(() => parseCommand("start", ["--port"], specs)).toThrow("option --port needs a value");
    expect(() => parseCommand("start", ["-p"], specs)).toThrow("option --port needs a value");
  });

  it("rejects a value for a boolean option", () => {
    expect(() => parseCommand("start", ["--json=yes"], specs)).toThrow("option --json does not take a value");
  });

  it("says how to pass a value that starts with a dash", () => {
    expect(() => parseCommand("start", ["--port", "-1"], specs)).toThrow(/--port=<value>/);
  });

  it("points every usage error at the command's help", () => {
    try {
      parseCommand("invoke", ["--nope"], specs);
      expect.unreachable();
    } catch (error) {
      expect((error as UsageError).hint).toBe(`run "mecha invoke --help" for usage`);
    }
  });
});

describe("argument checks", () => {
  it("expectPositionals names the missing arguments", () => {
    expect(() => expectPositionals("publish", ["bus"], ["pubsub", "topic", "data"])).toThrow(`missing <topic> <data> for "mecha publish"`);
  });

  it("expectPositionals rejects an extra argument and accepts a missing optional one", () => {
    expect(() => expectPositionals("start", ["x"], [])).toThrow(`unexpected argument "x" for "mecha start"`);
    expect(expectPositionals("invoke", ["GET", "/"], ["method", "path", "body?"])).toEqual(["GET", "/"]);
  });

  it.each(["0", "3000", "65535"])("parsePort accepts %s", (raw) => {
    expect(parsePort(raw, 1)).toBe(Number(raw));
  });

  it.each(["-1", "65536", "80a", "", "1.5"])("parsePort rejects %j", (raw) => {
    expect(() => parsePort(raw, 1)).toThrow(UsageError);
  });

  it("parsePort falls back to the default when the option is absent", () => {
    expect(parsePort(undefined, defaults.port)).toBe(3000);
  });

  it("parseLogLevel defaults to info and rejects unknown levels", () => {
    expect(parseLogLevel(undefined)).toBe("info");
    expect(() => parseLogLevel("loud")).toThrow(`--log-level must be one of debug, info, warn, error, got "loud"`);
  });

  it("parseJsonArgument reads JSON and says what arrived when it is not JSON", () => {
    expect(parseJsonArgument('{"a":[1]}', "<value>")).toEqual({ a: [1] });
    expect(() => parseJsonArgument("hello", "<value>")).toThrow(/^<value> must be JSON, got "hello"/);
  });
});

describe("colorEnabled", () => {
  it("is on for a terminal, off for a pipe", () => {
    expect(colorEnabled({ isTTY: true }, {})).toBe(true);
    expect(colorEnabled({}, {})).toBe(false);
  });

  it("is off when NO_COLOR is set, even on a terminal", () => {
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
  });

  it("is on when FORCE_COLOR is set, even in a pipe", () => {
    expect(colorEnabled({}, { FORCE_COLOR: "1" })).toBe(true);
  });
});

describe("main", () => {
  it("prints the command list for no arguments, --help and help", async () => {
    for (const argv of [[], ["--help"], ["help"]]) {
      const result = await runMain(...argv);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Commands:\n {2}start/);
    }
  });

  it("help <command> prints that command's usage", async () => {
    const result = await runMain("help", "invoke");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: mecha invoke/);
  });

  it("prints the version", async () => {
    const result = await runMain("--version");
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it("an unknown command is exit 2 with a suggestion and a hint, no stack trace", async () => {
    const result = await runMain("pubish");
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`error: unknown command "pubish"; did you mean "publish"?\nrun "mecha --help" for the list of commands\n`);
  });

  it("an unknown global option is exit 2", async () => {
    const result = await runMain("--verbose");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: unknown option --verbose\n/);
  });

  it("state without a subcommand, or with an unknown one, is exit 2", async () => {
    expect((await runMain("state")).stderr).toMatch(/^error: missing subcommand for "mecha state"/);
    const unknown = await runMain("state", "put", "kv", "k");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: unknown subcommand "put" for "mecha state" \(expected get, set or delete\)/);
  });

  it("invoke checks its arguments before sending anything", async () => {
    expect((await runMain("invoke", "GET", "hello")).stderr).toMatch(/^error: <path> must start with "\/", got "hello"/);
    expect((await runMain("invoke", "GET", "/x", "body")).stderr).toMatch(/^error: a GET request cannot have a body/);
    expect((await runMain("invoke", "POST", "/x", "--header", "nocolon")).stderr).toMatch(/^error: --header must look like "name: value"/);
  });

  it("state set checks --ttl", async () => {
    const result = await runMain("state", "set", "kv", "k", "1", "--ttl", "0");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --ttl must be a whole number of seconds > 0, or -1/);
  });
});
