/**
 * The wire format between the Node side of the Miniflare bridge (miniflare-bridge.ts) and the
 * Worker it runs (bridge-worker.ts): JSON, with bytes as `{ "$bytes": "<base64>" }` and errors
 * as `{ "error": { name, code, message, key, component, field } }`. Imported by both sides, so
 * it uses only what Node and workerd share (btoa/atob, no Buffer).
 */

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  /** EtagMismatchError's key. */
  key?: string;
  component?: string;
  /** ComponentConfigError's field. */
  field?: string;
}

export type BridgeResponse = { result?: unknown } | { error: SerializedError };

/** JSON text of `value`, with every Uint8Array (a Buffer too) as `{ $bytes }`. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, converted: unknown) {
    // The holder's own value: a Buffer's toJSON has already run on `converted`.
    const raw = this[key];
    return raw instanceof Uint8Array ? { $bytes: toBase64(raw) } : converted;
  });
}

/** The inverse of {@link encodeJson}. */
export function decodeJson<T = unknown>(text: string): T {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const bytes = (value as { $bytes?: unknown }).$bytes;
      if (typeof bytes === "string" && Object.keys(value).length === 1) return fromBase64(bytes);
    }
    return value;
  }) as T;
}

export function serializeError(error: unknown): SerializedError {
  const e = (error ?? {}) as Partial<SerializedError>;
  const serialized: SerializedError = {
    name: typeof e.name === "string" ? e.name : "Error",
    message: typeof e.message === "string" ? e.message : String(error),
  };
  for (const field of ["code", "key", "component", "field"] as const) {
    if (typeof e[field] === "string") serialized[field] = e[field];
  }
  return serialized;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
