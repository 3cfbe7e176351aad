/**
 * A state store reached the way an app reaches its Dapr sidecar: Dapr's HTTP state API over
 * loopback keep-alive connections — `GET /v1.0/state/{store}/{key}` (200 with the value, 204 when
 * missing) and `POST /v1.0/state/{store}` with `[{ key, value }]` (204). Two clients, since the
 * client's own cost is part of the hop: Node's global fetch (undici), and `node:http` with a
 * keep-alive Agent, which is what the Dapr JS SDK's node-fetch runs on.
 */
import http from "node:http";
import type { CounterStore } from "./counter.ts";

export type HttpClientKind = "fetch" | "node:http";

interface Answer {
  status: number;
  body: string;
}

type Send = (method: "GET" | "POST", url: string, headers: Record<string, string>, body?: string) => Promise<Answer>;

/** `baseUrl` is the sidecar's API (`http://127.0.0.1:<port>`); a token, when set, goes in `dapr-api-token` as the SDKs send it. */
export function daprHttpState(options: { baseUrl: string; store: string; client: HttpClientKind; apiToken?: string }): CounterStore & { close(): void } {
  const url = `${options.baseUrl}/v1.0/state/${encodeURIComponent(options.store)}`;
  const headers: Record<string, string> = options.apiToken ? { "dapr-api-token": options.apiToken } : {};
  const writeHeaders = { ...headers, "content-type": "application/json" };
  const { send, close } = options.client === "fetch" ? fetchClient() : nodeHttpClient();
  return {
    async get<T>(key: string) {
      const res = await send("GET", `${url}/${encodeURIComponent(key)}`, headers);
      if (res.status === 204) return undefined;
      if (res.status !== 200) throw failure("GET", key, res);
      return { value: JSON.parse(res.body) as T };
    },
    async set(key: string, value: unknown) {
      const res = await send("POST", url, writeHeaders, JSON.stringify([{ key, value }]));
      if (res.status !== 204) throw failure("POST", key, res);
    },
    close,
  };
}

function fetchClient(): { send: Send; close(): void } {
  return {
    async send(method, url, headers, body) {
      const res = await fetch(url, { method, headers, body });
      return { status: res.status, body: await res.text() };
    },
    close() {},
  };
}

function nodeHttpClient(): { send: Send; close(): void } {
  // No socket limit, like undici's default pool: every call in flight gets its own connection.
  const agent = new http.Agent({ keepAlive: true });
  return {
    send: (method, url, headers, body) =>
      new Promise((resolve, reject) => {
        const req = http.request(url, { method, agent, headers: body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) } }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode!, body: text }));
          res.on("error", reject);
        });
        req.on("error", reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

function failure(method: string, key: string, res: Answer): Error {
  return new Error(`sidecar ${method} of state key "${key}" answered ${res.status}: ${res.body.slice(0, 200)}`);
}
