/**
 * Only the sidecar bench: `node --import tsx bench/sidecar/run.ts [--quick] [--rounds N] [--duration S]`.
 * `npm run bench` runs it too, last.
 */
import { parseArgs } from "node:util";
import { benchSidecar, formatSidecar } from "./index.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    concurrency: { type: "string", default: "16" },
  },
});
const rounds = Number(values.rounds ?? (values.quick ? 1 : 3));
const durationS = Number(values.duration ?? (values.quick ? 1 : 4));

console.log(`mecha bench — node ${process.version}\n`);
console.log("Sidecar: the same function doing state get + set in-process through ctx.state, and through Dapr's HTTP API over loopback");
console.log(formatSidecar(await benchSidecar({ rounds, durationS, concurrency: Number(values.concurrency), keys: 100 })));
