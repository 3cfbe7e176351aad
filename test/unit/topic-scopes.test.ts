/** Dapr's pub/sub topic scoping rules, as parseTopicScopes applies them. */
import { describe, expect, it } from "vitest";
import { parseTopicScopes } from "../../src/blocks/topic-scopes.ts";

describe("parseTopicScopes", () => {
  it("forbids nothing when no field is set", () => {
    expect(parseTopicScopes({}).forbiddenBy("any", "topic", "publish")).toBeUndefined();
  });

  it("limits a listed app to its topics, an app with an empty list to none, and leaves unlisted apps free", () => {
    const scopes = parseTopicScopes({ publishingScopes: "app1=topic1;app2=topic2,topic3;app3=" });
    expect(scopes.forbiddenBy("app1", "topic1", "publish")).toBeUndefined();
    expect(scopes.forbiddenBy("app1", "topic2", "publish")).toBe("publishingScopes");
    expect(scopes.forbiddenBy("app2", "topic3", "publish")).toBeUndefined();
    expect(scopes.forbiddenBy("app3", "topic1", "publish")).toBe("publishingScopes");
    expect(scopes.forbiddenBy("app4", "anything", "publish")).toBeUndefined();
  });

  it("keeps publishing and subscription scopes apart", () => {
    const scopes = parseTopicScopes({ subscriptionScopes: "app1=topic1" });
    expect(scopes.forbiddenBy("app1", "topic2", "subscribe")).toBe("subscriptionScopes");
    expect(scopes.forbiddenBy("app1", "topic2", "publish")).toBeUndefined();
  });

  it("allows only allowedTopics to every app, on top of the scopes", () => {
    const scopes = parseTopicScopes({ allowedTopics: "topic1, topic2", publishingScopes: "app1=topic2" });
    expect(scopes.forbiddenBy("app9", "topic1", "publish")).toBeUndefined();
    expect(scopes.forbiddenBy("app9", "topic3", "subscribe")).toBe("allowedTopics");
    expect(scopes.forbiddenBy("app1", "topic1", "publish")).toBe("publishingScopes");
  });

  it("lets only apps granted a protected topic use it", () => {
    const scopes = parseTopicScopes({ protectedTopics: "secret", subscriptionScopes: "auditor=secret" });
    expect(scopes.forbiddenBy("auditor", "secret", "subscribe")).toBeUndefined();
    expect(scopes.forbiddenBy("other", "secret", "subscribe")).toBe("protectedTopics");
    expect(scopes.forbiddenBy("auditor", "secret", "publish")).toBe("protectedTopics");
    expect(scopes.forbiddenBy("other", "public", "publish")).toBeUndefined();
  });
});
