/**
 * The second baseline for the cold start: Hono's own Lambda adapter (`hono/aws-lambda`) serving
 * the bench app's `GET /ping`, no mecha. Like mecha, it hands the function a web-standard
 * `Request`, so it pays what Node charges on first use of its fetch classes; the plain handler
 * does not. The difference between this and mecha is what mecha itself adds to a Hono handler.
 */
import { Hono } from "hono";
import { handle } from "hono/aws-lambda";

const app = new Hono();
app.get("/ping", (c) => c.json({ ok: true }));

export const handler = handle(app);
