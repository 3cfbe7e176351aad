/** A scheduled sweep: once a minute, record that the app is alive and how often it has swept. */
import { cron, EtagMismatchError, http } from "mecha";

/** Order ids cannot contain ":", so this key never collides with an order. */
const statsKey = "sweep:stats";

interface SweepStats {
  runs: number;
  lastRunAt: string;
}

export const sweep = cron("* * * * *", async (ctx) => {
  const stats = ctx.state("orders");
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await stats.get<SweepStats>(statsKey);
    const next: SweepStats = { runs: (current?.value.runs ?? 0) + 1, lastRunAt: new Date().toISOString() };
    try {
      // first-write when absent, etag-guarded otherwise: two hosts never lose a count.
      await stats.set(statsKey, next, current ? { etag: current.etag } : { concurrency: "first-write" });
      ctx.log.info("sweep done", { runs: next.runs });
      return;
    } catch (error) {
      if (!(error instanceof EtagMismatchError)) throw error;
    }
  }
});

/** GET /sweep — the sweep's stats. */
export const sweepStats = http("GET /sweep", async (_req, ctx) => {
  const entry = await ctx.state("orders").get<SweepStats>(statsKey);
  return Response.json(entry?.value ?? { runs: 0, lastRunAt: null });
});
