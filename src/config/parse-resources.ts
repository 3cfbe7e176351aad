/**
 * The text of one resources file → its Components and Subscriptions. A file may hold several
 * YAML documents (`---`); kinds mecha does not use (Configuration, HTTPEndpoint, …) are skipped so a
 * Dapr resources folder loads unchanged. Resiliency documents are read too (src/config/parse-resiliency.ts).
 */
import { LineCounter, parseAllDocuments } from "yaml";
// YAML is read only on Node and by builds: the CEL engine (routing rules, circuit-breaker trips)
// is available wherever resources are parsed; a bundle gets it from its entry when it needs it.
import "../core/cel-engine.ts";
import { ComponentConfigError } from "../errors.ts";
import { parseComponent } from "./parse-component.ts";
import { parseResiliency, resiliencyApiVersion } from "./parse-resiliency.ts";
import { parseSubscription, subscriptionApiVersions } from "./parse-subscription.ts";
import { describe, isMapping, ResourceDocument } from "./resource-document.ts";
import type { Resources } from "./types.ts";

const componentApiVersion = "dapr.io/v1alpha1";

/**
 * Parses one resources file.
 * @param text the file's content
 * @param file the file's path as error messages should show it
 * @throws ComponentConfigError for a YAML syntax error (with its line) or an invalid resource
 * @example
 * const { components } = parseResourcesText(await readFile(path, "utf8"), "components/local/orders.yaml");
 */
export function parseResourcesText(text: string, file: string): Resources {
  const resources: Resources = { components: [], subscriptions: [] };
  const lineCounter = new LineCounter();
  // prettyErrors would quote the offending lines, and a line may hold a plaintext secret.
  const documents = parseAllDocuments(text, { prettyErrors: false, lineCounter });
  for (const [i, document] of documents.entries()) {
    const syntaxError = document.errors[0];
    if (syntaxError) {
      const { line, col } = lineCounter.linePos(syntaxError.pos[0]);
      throw new ComponentConfigError(`YAML syntax error at line ${line}, column ${col}: ${syntaxError.message}`, { file });
    }
    const raw: unknown = document.toJS();
    if (raw === null || raw === undefined) continue; // an empty document, e.g. a trailing `---`
    if (!isMapping(raw)) {
      throw new ComponentConfigError(`document ${i + 1} must be a mapping with apiVersion and kind, got ${describe(raw)}`, { file });
    }
    addResource(resources, new ResourceDocument(raw, file, i + 1));
  }
  return resources;
}

function addResource(resources: Resources, doc: ResourceDocument): void {
  const kind = doc.optionalString("kind");
  if (!kind) {
    throw doc.error("kind", "is required: every document in a resources folder is a Dapr resource (kind: Component, Subscription, …)");
  }
  const apiVersion = doc.optionalString("apiVersion");
  if (kind === "Component") {
    if (apiVersion !== componentApiVersion) {
      throw doc.error("apiVersion", `must be "${componentApiVersion}" for a Component, got ${quoted(apiVersion)}`);
    }
    resources.components.push(parseComponent(doc));
  } else if (kind === "Subscription") {
    const version = subscriptionApiVersions.find((v) => v === apiVersion);
    if (!version) {
      throw doc.error("apiVersion", `must be ${subscriptionApiVersions.map((v) => `"${v}"`).join(" or ")} for a Subscription, got ${quoted(apiVersion)}`);
    }
    resources.subscriptions.push(parseSubscription(doc, version));
  } else if (kind === "Resiliency") {
    if (apiVersion !== resiliencyApiVersion) {
      throw doc.error("apiVersion", `must be "${resiliencyApiVersion}" for a Resiliency, got ${quoted(apiVersion)}`);
    }
    // Added only when present, so a folder without one parses to the same Resources as before.
    (resources.resiliencies ??= []).push(parseResiliency(doc));
  }
  // Any other kind configures parts of Dapr that mecha does not have; skipping keeps Dapr folders loadable.
}

function quoted(value: string | undefined): string {
  return value === undefined ? "nothing" : `"${value}"`;
}
