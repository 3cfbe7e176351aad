/**
 * A parity driver runs the example app on one target and lets the shared spec talk to it over
 * HTTP. Each target (Node, Workers, Lambda) adds one driver; the spec never changes.
 */
export interface ParityResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

export interface ParityDriver {
  readonly target: string;
  start(): Promise<void>;
  request(method: string, path: string, body?: string | object, headers?: Record<string, string>): Promise<ParityResponse>;
  stop(): Promise<void>;
}

/** The request body and headers every driver sends: objects as JSON. */
export function parityRequestInit(method: string, body?: string | object, headers: Record<string, string> = {}): RequestInit {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return { method, body: payload, headers: { ...(payload !== undefined ? { "content-type": "application/json" } : {}), ...headers } };
}

/** Reads a whole answer, with the body parsed as JSON when it is JSON. */
export async function readParityResponse(response: { status: number; headers: Headers; text(): Promise<string> }): Promise<ParityResponse> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Sends a request with fetch and reads the whole answer. */
export async function fetchParity(url: string, method: string, body?: string | object, headers: Record<string, string> = {}): Promise<ParityResponse> {
  return readParityResponse(await fetch(url, parityRequestInit(method, body, headers)));
}
