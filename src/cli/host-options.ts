/** The options of `mecha start` and `mecha dev`, read once and checked. */
import type { LogLevel } from "../core/logger.ts";
import { defaults, parseLogLevel, parsePort, sharedOptions, type ParsedValues } from "./args.ts";

export const hostOptionSpecs = {
  resources: sharedOptions.resources,
  functions: sharedOptions.functions,
  port: { ...sharedOptions.port, description: "HTTP port; 0 picks a free one" },
  host: { ...sharedOptions.host, description: "interface to listen on" },
  "app-id": { ...sharedOptions["app-id"], description: "app id: state key prefix, event source, subscription names" },
  "log-level": sharedOptions["log-level"],
  "dapr-http-port": {
    type: "string",
    placeholder: "port",
    description: "port of Dapr's HTTP API for the app's components; 0 picks a free one",
    defaultValue: defaults.daprHttpPort,
  },
  "dapr-host": {
    type: "string",
    placeholder: "host",
    description: "interface for Dapr's HTTP API; only loopback unless given (set MECHA_API_TOKEN before exposing it)",
    defaultValue: defaults.host,
  },
  "no-dapr-api": { type: "boolean", description: "do not serve Dapr's HTTP API" },
  json: { ...sharedOptions.json, description: "JSON-lines logs and a one-line JSON summary" },
  help: sharedOptions.help,
} as const;

export interface HostOptions {
  resources: string;
  functions: string;
  port: number;
  host: string;
  appId: string;
  logLevel: LogLevel;
  json: boolean;
  /** Dapr's HTTP API port, or `false` when it is off. */
  daprHttpPort: number | false;
  /** The interface Dapr's HTTP API listens on: loopback unless asked, whatever `host` is. */
  daprHost: string;
}

export function readHostOptions(values: ParsedValues<typeof hostOptionSpecs>): HostOptions {
  return {
    resources: values.resources ?? defaults.resources,
    functions: values.functions ?? defaults.functions,
    port: parsePort(values.port, defaults.port),
    host: values.host ?? defaults.host,
    appId: values["app-id"] ?? defaults.appId,
    logLevel: parseLogLevel(values["log-level"]),
    json: values.json ?? false,
    daprHttpPort: values["no-dapr-api"] ? false : parsePort(values["dapr-http-port"], defaults.daprHttpPort, "--dapr-http-port"),
    daprHost: values["dapr-host"] ?? defaults.host,
  };
}

/** The same options as `mecha start` arguments (for `mecha dev`'s child process). */
export function toStartArguments(options: HostOptions): string[] {
  return [
    "start",
    "--resources", options.resources,
    "--functions", options.functions,
    "--port", String(options.port),
    "--host", options.host,
    "--app-id", options.appId,
    "--log-level", options.logLevel,
    ...(options.daprHttpPort === false ? ["--no-dapr-api"] : ["--dapr-http-port", String(options.daprHttpPort), "--dapr-host", options.daprHost]),
    ...(options.json ? ["--json"] : []),
  ];
}
