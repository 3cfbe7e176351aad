/** The benchmarked function: read a counter from state, write it back incremented. */
import { http } from "../../../src/index.ts";

export const bump = http("POST /counter/:id", async (_req, ctx) => {
  const counters = ctx.state("counters");
  const current = await counters.get<{ n: number }>(ctx.params.id!);
  const { etag } = await counters.set(ctx.params.id!, { n: (current?.value.n ?? 0) + 1 });
  return Response.json({ etag });
});

export const hello = http("GET /hello", async () => Response.json({ ok: true }));
export const stateOnly = http("GET /state/:id", async (_req, ctx) => {
  const current = await ctx.state("counters").get<{ n: number }>(ctx.params.id!);
  return Response.json({ n: current?.value.n ?? 0 });
});
