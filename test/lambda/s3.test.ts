/**
 * The Lambda adapter's S3 side: an object event triggers the `binding(...)` functions of the
 * input binding its bucket belongs to, with the object key decoded; an event nobody handled makes
 * the invocation fail, so Lambda retries it rather than dropping it.
 */
import type { S3Event } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { UndeliveredEventError } from "../../adapters/lambda/index.ts";
import { decodeS3Key } from "../../adapters/lambda/events/s3.ts";
import { componentCatalog } from "../../src/components/catalog.ts";
import { binding, type InputBindingEvent } from "../../src/index.ts";
import { component, defaultComponents, lambdaApp, lambdaContext, loadEvent } from "./support.ts";

// The adapter never creates the binding's component for an S3 event (the platform pushes them);
// the app only needs the name configured. A local object-store binding stands in for it.
const uploads = component("uploads", "bindings.localstorage", [{ name: "rootPath", value: "/tmp/mecha-lambda-test-uploads" }]);

function uploadsApp(options: { failing?: boolean; bindingsByBucket?: Record<string, string> } = {}) {
  const events: Array<{ fn: string; event: InputBindingEvent }> = [];
  const exports = {
    index: binding("uploads", async (event) => void events.push({ fn: "index", event })),
    thumbnail: binding("uploads", async (event) => {
      events.push({ fn: "thumbnail", event });
      if (options.failing) throw new Error("thumbnail failed");
    }),
  };
  const app = lambdaApp([{ name: "files", exports }], {
    components: [...defaultComponents, uploads],
    bindingsByBucket: options.bindingsByBucket ?? { "qt-uploads": "uploads" },
  });
  return { ...app, events };
}

describe("Lambda adapter: S3 object events", () => {
  it("decodes object keys as S3 writes them: + is a space, then percent-decoding", () => {
    expect(decodeS3Key("my+file%281%29.txt")).toBe("my file(1).txt");
    expect(decodeS3Key("a%2Bb+c")).toBe("a+b c");
  });

  it("triggers every function of the bucket's binding with the decoded key", async () => {
    const { handler, events } = uploadsApp();
    await expect(handler(loadEvent("s3-put"), lambdaContext())).resolves.toBeUndefined();
    expect(events.map((e) => e.fn).sort()).toEqual(["index", "thumbnail"]);
    for (const { event } of events) {
      expect(event).toEqual({
        data: { bucket: "qt-uploads", key: "incoming/my file(1).txt", size: 1305107, eTag: "b21b84d653bb07b05b1e6b33684dc11b", eventName: "ObjectCreated:Put" },
        metadata: { bucket: "qt-uploads", key: "incoming/my file(1).txt", eventName: "ObjectCreated:Put", eventTime: "2019-09-03T19:37:27.192Z" },
      });
    }
  });

  it("delivers a delete event, which has no size or eTag", async () => {
    const { handler, events } = uploadsApp();
    await handler(loadEvent("s3-delete"), lambdaContext());
    expect(events[0]?.event.data).toEqual({ bucket: "qt-uploads", key: "incoming/old+report.csv", size: undefined, eTag: undefined, eventName: "ObjectRemoved:Delete" });
  });

  it("finds the binding from a bindings.aws.s3 component's bucket when no map is given", async () => {
    const events: InputBindingEvent[] = [];
    const s3Binding = component("receipts", "bindings.aws.s3", [{ name: "bucket", value: "qt-uploads" }]);
    const { handler } = lambdaApp([{ name: "files", exports: { onReceipt: binding("receipts", async (event) => void events.push(event)) } }], {
      components: [...defaultComponents, s3Binding],
      // The catalog has no bindings.aws.s3 yet; the adapter never creates it, so any binding type stands in.
      catalog: { ...componentCatalog, "bindings.aws.s3": componentCatalog["bindings.localstorage"]! },
    });
    await handler(loadEvent("s3-put"), lambdaContext());
    expect(events.map((e) => e.metadata.key)).toEqual(["incoming/my file(1).txt"]);
  });

  it("fails the invocation for a bucket that belongs to no binding, and logs it", async () => {
    const { handler, events, logs } = uploadsApp({ bindingsByBucket: {} });
    const error = await handler(loadEvent("s3-put"), lambdaContext()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndeliveredEventError);
    expect((error as Error).message).toContain('bucket "qt-uploads": no binding');
    expect(events).toEqual([]);
    expect(logs.find((line) => line.level === "error")?.msg).toBe('S3 bucket "qt-uploads" belongs to no input binding of this app; the event fails');
  });

  it("fails the invocation when a function fails, after every function ran", async () => {
    const { handler, events } = uploadsApp({ failing: true });
    const event = loadEvent<S3Event>("s3-put");
    const error = await handler(event, lambdaContext()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndeliveredEventError);
    expect((error as Error).message).toContain('bucket "qt-uploads" key "incoming/my file(1).txt": function files.thumbnail failed');
    expect(events.map((e) => e.fn).sort()).toEqual(["index", "thumbnail"]);
  });
});
