/**
 * A TCP proxy in front of a real server, for tests of what a component does when the network
 * fails: cut every connection (as a broker restart or a dead link would), swallow what the client
 * sends (a request lost in flight), or stop listening for a while (the server is down).
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1 (the same after a stop and start). */
  readonly port: number;
  /** How many client connections it has accepted. */
  connections(): number;
  /** Bytes swallowed since `swallow()`. */
  readonly swallowed: number;
  /** From now on, what clients send is dropped instead of forwarded (until the next `cut()`). */
  swallow(): void;
  /** Destroys every open connection, both sides. */
  cut(): void;
  /** Stops listening and cuts every connection: the server looks down. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (a free port) to `host:targetPort`. */
export async function startTcpProxy(targetPort: number, host = "127.0.0.1"): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let swallowing = false;
  let swallowed = 0;
  let server: Server | undefined;
  let port = 0;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((downstream) => {
        accepted++;
        const upstream = connect({ host, port: targetPort });
        for (const [socket, other] of [[downstream, upstream], [upstream, downstream]] as const) {
          sockets.add(socket);
          socket.on("error", () => other.destroy());
          socket.on("close", () => {
            sockets.delete(socket);
            other.destroy();
          });
        }
        downstream.on("data", (chunk: Buffer) => (swallowing ? (swallowed += chunk.length) : upstream.write(chunk)));
        upstream.on("data", (chunk: Buffer) => downstream.write(chunk));
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const cut = () => {
    swallowing = false;
    for (const socket of sockets) socket.destroy();
  };
  const stop = async () => {
    const closing = server;
    server = undefined;
    cut();
    if (closing) await new Promise((resolve) => closing.close(resolve));
  };
  await start();
  return {
    get port() {
      return port;
    },
    connections: () => accepted,
    get swallowed() {
      return swallowed;
    },
    swallow: () => void (swallowing = true),
    cut,
    stop,
    start,
    close: stop,
  };
}
