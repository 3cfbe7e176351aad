/**
 * Run in a fresh `node` (compiled to plain JS: no loader hooks): imports a Lambda bundle's
 * `index.mjs` and sends it one HTTP event, timing each step as a cold start does them; then
 * times a first use of Node's fetch classes (`Headers`, `Request`, `Response` and their body
 * streams, as Hono uses them): Node loads them on first use, so in the plain handler's process,
 * which has not used them, this is their load; in mecha's it is near zero.
 *
 * Usage: node cold-start-child.mjs <index.mjs> <event.json>
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { LambdaHandlerFunction } from "../../src/cli/lambda-events/run-handler.ts";
import { benchContext, report } from "./child-report.ts";

const [bundle, eventFile] = process.argv.slice(2) as [string, string];
const event: unknown = JSON.parse(readFileSync(eventFile, "utf8"));
const context = benchContext();
const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;

const started = process.hrtime.bigint();
const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: LambdaHandlerFunction };
const imported = process.hrtime.bigint();
const answer = (await handler(event, context)) as { statusCode?: number };
const answered = process.hrtime.bigint();

await new Request("https://example.com/", { method: "POST", headers: new Headers({ accept: "*/*" }), body: "{}" }).text();
await Response.json({ ok: true }).text();
const fetchLoaded = process.hrtime.bigint();

if (answer?.statusCode !== 200) throw new Error(`${bundle} answered ${JSON.stringify(answer)} to the first request`);
report({ importMs: ms(started, imported), firstInvokeMs: ms(imported, answered), fetchFirstUseMs: ms(answered, fetchLoaded) });
