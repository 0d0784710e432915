import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export interface TcpProxy {
  /** The loopback port the proxy listens on (kept across cut and restore). */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: () => number;
  /** PostgreSQL "goes away": every connection is reset and the port refuses new ones until restore(). */
  cut(): Promise<void>;
  /** PostgreSQL is back on the same address. */
  restore(): Promise<void>;
  /**
   * A network partition: nothing passes any more in either direction, but no connection is closed, and new ones
   * are accepted and left hanging (no RST, no FIN: what a dropped route looks like). Ends with cut() or close().
   */
  freeze(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (PostgreSQL), so a test can take the database away from a server
 * and give it back, as a failover or a network cut would, without touching the PostgreSQL that others use.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let port = 0;
  let server: Server | undefined;
  let frozen = false;
  const listen = async () => {
    frozen = false;
    server = createServer((client) => {
      accepted++;
      if (frozen) {
        sockets.add(client);
        client.on("error", () => undefined);
        client.on("close", () => sockets.delete(client));
        client.pause();
        return;
      }
      const upstream = connect(target.port, target.host);
      splice(client, upstream, sockets);
    });
    await new Promise<void>((resolve, reject) => {
      server!.once("error", reject);
      server!.listen(port, "127.0.0.1", () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  };
  const stop = async () => {
    const closing = server && new Promise<void>((resolve) => server!.close(() => resolve()));
    for (const socket of sockets) socket.resetAndDestroy();
    server = undefined;
    await closing;
  };
  await listen();
  const freeze = () => {
    frozen = true;
    for (const socket of sockets) {
      socket.unpipe();
      socket.pause();
    }
  };
  return {
    get port() {
      return port;
    },
    accepted: () => accepted,
    cut: stop,
    restore: listen,
    freeze,
    close: stop,
  };
}

/**
 * Pipes `client` and `upstream` into each other, both tracked in `sockets` while open; either side's error or
 * close destroys the other, so a half-closed pair never lingers.
 */
export function splice(client: Socket, upstream: Socket, sockets: Set<Socket>): void {
  for (const [a, b] of [
    [client, upstream],
    [upstream, client],
  ] as const) {
    sockets.add(a);
    a.on("error", () => b.destroy());
    a.on("close", () => {
      sockets.delete(a);
      b.destroy();
    });
    a.pipe(b);
  }
}
