/**
 * `npm run bench`: every benchmark beside its baseline in the same run, with ratios.
 * Options: --quick (short runs, for a smoke check), --rounds N, --duration S, --connections N.
 * --duration and --connections are the HTTP bench's; --rounds applies to the HTTP, pub/sub,
 * state and sidecar parts. Only the sidecar part: `node --import tsx bench/sidecar/run.ts`.
 */
import { parseArgs } from "node:util";
import { benchBrokers, formatBrokers } from "./brokers/index.ts";
import { benchHttpState, formatHttpState } from "./http-state/index.ts";
import { benchLambda, formatLambda } from "./lambda/index.ts";
import { benchSidecar, formatSidecar } from "./sidecar/index.ts";
import { benchStateClients, formatStateClients } from "./state-clients/index.ts";
import { benchWorkersBundle, formatWorkersBundle } from "./workers-bundle/index.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    connections: { type: "string", default: "32" },
  },
});
const rounds = Number(values.rounds ?? (values.quick ? 1 : 3));
const durationS = Number(values.duration ?? (values.quick ? 2 : 8));
const connections = Number(values.connections);

console.log(`mecha bench — node ${process.version}, ${rounds} round(s) × ${durationS}s, ${connections} connections\n`);
console.log("HTTP function: state get + set (POST /counter/:id over 100 keys)");
console.log(formatHttpState(await benchHttpState({ rounds, durationS, connections })));

console.log("\nWorkers bundle: the example app built by mecha build --target workers --minify");
console.log(formatWorkersBundle(await benchWorkersBundle(values.quick ? 3 : 7)));

console.log("\nLambda: the example app built by mecha build --target lambda --minify, and a bench app, beside a plain handler");
console.log(formatLambda(await benchLambda(values.quick ? { coldRuns: 3, batchRounds: 1, batchBudgetMs: 300 } : { coldRuns: 11, batchRounds: 3, batchBudgetMs: 1000 })));

console.log("\nPub/sub: messages/s delivered to a no-op and acked, through mecha beside a hand-written consumer loop on the same broker");
console.log(formatBrokers(await benchBrokers({ rounds, messages: values.quick ? 2_000 : 20_000, concurrency: 16 })));

console.log("\nState: get + set through mecha's state client beside the raw client of the same store");
console.log(formatStateClients(await benchStateClients({ rounds, durationS: values.quick ? 1 : 3, concurrency: 16, keys: 100 })));

console.log("\nSidecar: the same function doing state get + set in-process through ctx.state, and through Dapr's HTTP API over loopback");
console.log(formatSidecar(await benchSidecar({ rounds, durationS: values.quick ? 1 : 4, concurrency: 16, keys: 100 })));
