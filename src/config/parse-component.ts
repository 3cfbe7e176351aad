/**
 * A Dapr `Component` document (apiVersion `dapr.io/v1alpha1`) → `ComponentSpec`. Whether the
 * `spec.type` exists is the runtime's question (it knows the catalog); this checks the shape.
 */
import type { ComponentSpec, MetadataEntry } from "./types.ts";
import { describe, isMapping, type ResourceDocument } from "./resource-document.ts";

/**
 * Validates a Component document and returns its spec.
 * @throws ComponentConfigError naming the file, the component and the field
 */
export function parseComponent(doc: ResourceDocument): ComponentSpec {
  const name = doc.name("component");
  if (doc.optionalMapping("spec") === undefined) {
    throw doc.error("spec", 'is required: a component needs at least spec.type, e.g. "state.sqlite"');
  }
  const type = doc.requiredString("spec.type", 'e.g. "state.sqlite" or "pubsub.redis"');
  const secretStore = doc.optionalString("auth.secretStore");
  return {
    name,
    type,
    // Dapr's own samples always say v1; a missing version means the only one there is.
    version: doc.optionalString("spec.version") || "v1",
    metadata: parseMetadataEntries(doc),
    ...(secretStore ? { secretStore } : {}),
    scopes: doc.stringList("scopes"),
    file: doc.file,
  };
}

function parseMetadataEntries(doc: ResourceDocument): MetadataEntry[] {
  const list = doc.get("spec.metadata");
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    throw doc.error("spec.metadata", `must be a list of { name, value } entries, got ${describe(list)}`);
  }
  const seen = new Map<string, number>();
  return list.map((raw: unknown, i) => {
    const entry = parseMetadataEntry(doc, raw, `spec.metadata[${i}]`);
    const earlier = seen.get(entry.name);
    if (earlier !== undefined) {
      throw doc.error(`spec.metadata[${i}].name`, `"${entry.name}" is already set by spec.metadata[${earlier}]; keep one`);
    }
    seen.set(entry.name, i);
    return entry;
  });
}

function parseMetadataEntry(doc: ResourceDocument, raw: unknown, field: string): MetadataEntry {
  if (!isMapping(raw)) throw doc.error(field, `must be a mapping like { name: ..., value: ... }, got ${describe(raw)}`);
  const name = raw["name"];
  if (typeof name !== "string" || name === "") {
    throw doc.error(`${field}.name`, name === undefined || name === "" ? "is required" : `must be a string, got ${describe(name)}`);
  }
  const sources = (["value", "secretKeyRef", "envRef"] as const).filter((key) => key in raw);
  if (sources.length === 0) {
    throw doc.error(field, `"${name}" needs one of value, secretKeyRef or envRef (value: "" is allowed)`);
  }
  if (sources.length > 1) {
    throw doc.error(field, `"${name}" sets ${sources.join(" and ")}; use only one of value, secretKeyRef or envRef`);
  }
  switch (sources[0]) {
    case "secretKeyRef":
      return { name, secretKeyRef: parseSecretKeyRef(doc, raw["secretKeyRef"], `${field}.secretKeyRef`) };
    case "envRef": {
      const envRef = raw["envRef"];
      if (typeof envRef !== "string" || envRef === "") {
        throw doc.error(`${field}.envRef`, `must be the name of an environment variable, got ${describe(envRef)}`);
      }
      return { name, envRef };
    }
    default:
      return { name, value: metadataValueText(raw["value"]) };
  }
}

function parseSecretKeyRef(doc: ResourceDocument, raw: unknown, field: string): { name: string; key?: string } {
  if (!isMapping(raw)) throw doc.error(field, `must be a mapping like { name: <secret>, key: <key> }, got ${describe(raw)}`);
  const name = raw["name"];
  if (typeof name !== "string" || name === "") throw doc.error(`${field}.name`, "is required: the secret's name in auth.secretStore");
  const key = raw["key"];
  if (key === undefined || key === null || key === "") return { name };
  if (typeof key !== "string") throw doc.error(`${field}.key`, `must be a string, got ${describe(key)}`);
  return { name, key };
}

/**
 * Dapr reads metadata values as text: YAML numbers and booleans become their text, a bare
 * `value:` is empty, and structured values become their JSON (Dapr's DynamicValue does the same).
 */
function metadataValueText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return JSON.stringify(value);
}
