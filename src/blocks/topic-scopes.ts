/**
 * Dapr's pub/sub topic scoping, read from a pub/sub component's metadata:
 *
 * - `publishingScopes` / `subscriptionScopes`: `app1=topic1;app2=topic2,topic3;app3=` — an app that
 *   is listed may use only its topics (none when its list is empty); an app that is not listed may
 *   use any topic.
 * - `allowedTopics`: `topic1,topic2` — when set, no app may use any other topic.
 * - `protectedTopics`: `topic1` — only apps granted the topic in the scopes above may use it.
 */

export interface TopicScopeMetadata {
  publishingScopes?: string;
  subscriptionScopes?: string;
  allowedTopics?: string;
  protectedTopics?: string;
}

export type TopicAccess = "publish" | "subscribe";

export interface TopicScopes {
  /** Undefined when the app may use the topic; otherwise which metadata field forbids it. */
  forbiddenBy(appId: string, topic: string, access: TopicAccess): keyof TopicScopeMetadata | undefined;
}

/** Scopes that forbid nothing: a pub/sub whose metadata sets none of the fields. */
export const openTopicScopes: TopicScopes = { forbiddenBy: () => undefined };

export function parseTopicScopes(metadata: TopicScopeMetadata): TopicScopes {
  const publishing = appTopics(metadata.publishingScopes);
  const subscription = appTopics(metadata.subscriptionScopes);
  const allowed = topicList(metadata.allowedTopics);
  const protectedTopics = topicList(metadata.protectedTopics);
  if (!publishing && !subscription && !allowed && !protectedTopics) return openTopicScopes;
  return {
    forbiddenBy(appId, topic, access) {
      if (allowed && !allowed.has(topic)) return "allowedTopics";
      const [field, scopes] = access === "publish" ? (["publishingScopes", publishing] as const) : (["subscriptionScopes", subscription] as const);
      const granted = scopes?.get(appId);
      if (granted && !granted.has(topic)) return field;
      if (protectedTopics?.has(topic) && !granted?.has(topic)) return "protectedTopics";
      return undefined;
    },
  };
}

/** `app1=t1,t2;app2=` → app → topics; undefined when the field is unset or blank. */
function appTopics(text: string | undefined): Map<string, Set<string>> | undefined {
  if (!text?.trim()) return undefined;
  const scopes = new Map<string, Set<string>>();
  for (const entry of text.split(";")) {
    const [app, topics = ""] = entry.split("=", 2) as [string, string?];
    if (!app.trim()) continue;
    scopes.set(app.trim(), topicList(topics) ?? new Set());
  }
  return scopes;
}

function topicList(text: string | undefined): Set<string> | undefined {
  if (!text?.trim()) return undefined;
  return new Set(text.split(",").map((t) => t.trim()).filter(Boolean));
}
