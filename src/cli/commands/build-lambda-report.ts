/** What `mecha build --target lambda` prints: the package, its triggers and AWS resources. */
import type { LambdaBuildResult } from "../../build/lambda/build.ts";
import type { CliIo, Output } from "../output.ts";
import { displayPath, formatBytes } from "../paths.ts";

/** Prints what the Lambda build wrote. */
export function reportLambdaBuild(result: LambdaBuildResult, json: boolean, io: CliIo, output: Output): void {
  const { bundle, aws } = result;
  const path = (file: string) => displayPath(io, file);
  if (json) {
    output.json({
      target: "lambda",
      package: { path: path(result.codeDir), handler: "index.handler", files: bundle.files.length },
      bundle: { path: path(bundle.file), bytes: bundle.size.bytes, gzipBytes: bundle.size.gzipBytes, split: bundle.size.split },
      template: path(result.templateFile),
      metafile: path(bundle.metafile),
      entry: path(result.entryFile),
      resources: path(result.resourcesFile),
      routes: aws.routes,
      topics: aws.topics,
      queues: aws.queues,
      schedules: aws.schedules,
      tables: aws.tables,
      buckets: aws.buckets,
      warnings: aws.warnings,
    });
    return;
  }
  const { bold, cyan, dim, green } = output.color;
  const { split } = bundle.size;
  const lines = [
    `${green("✓")} built ${bold(path(result.codeDir))} (handler index.handler, ${bundle.files.length} files)  ${formatBytes(bundle.size.bytes)}, ${formatBytes(bundle.size.gzipBytes)} gzip`,
    dim(`  mecha ${formatBytes(split.mecha)} · dependencies ${formatBytes(split.dependencies)} · functions ${formatBytes(split.functions)}`),
  ];
  const section = (title: string, rows: Array<[string, string]>) => {
    if (!rows.length) return;
    const width = Math.max(...rows.map(([left]) => left.length));
    lines.push("", bold(title), ...rows.map(([left, right]) => `  ${cyan(left.padEnd(width))}  ${right}`));
  };
  section("HTTP API", aws.routes.map((r) => [`${r.method} ${r.path}`, r.function === "*" ? dim("every route, to the function's router") : r.function]));
  section(
    "Queues",
    aws.queues.map((q) => [q.queue, `${q.pubsub}/${q.topic} ${dim(`(SNS ${q.topicName}) → ${q.subscription}, after ${q.maxReceiveCount} receives ${q.deadLetterQueue}`)}`]),
  );
  section("Schedules", aws.schedules.map((s) => [s.rule, `${s.expression} ${dim(`→ ${s.function}`)}`]));
  section("Tables", aws.tables.map((t) => [t.table, dim(`key ${t.partitionKey}${t.ttlAttribute ? `, ttl ${t.ttlAttribute}` : ""} (${t.components.join(", ")})`)]));
  section("Buckets", aws.buckets.map((b) => [b.bucket, dim(`${b.component}${b.functions.length ? ` → ${b.functions.join(", ")}` : ""}`)]));
  lines.push(
    "",
    `${green("✓")} wrote ${bold(path(result.templateFile))}`,
    dim(`Deploy: sam deploy --guided --template-file ${path(result.templateFile)}`),
    dim(`Try an event locally: mecha events http > event.json && mecha invoke --target lambda --event event.json`),
  );
  output.line(lines.join("\n"));
  for (const warning of aws.warnings) output.notice(`${output.errorColor.yellow("warning:")} ${warning}`);
}
