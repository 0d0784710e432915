import { connect, createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { splice } from "./tcp-proxy.js";

export interface PgCounter {
  /** The loopback port to put in the server's DATABASE_URL instead of PostgreSQL's. */
  readonly port: number;
  /** DataRow messages PostgreSQL sent so far, over every connection: the rows the server was handed. */
  rows(): number;
  /** Statements the server sent so far (simple Query or Parse) whose SQL text matches `pattern`. */
  statements(pattern: RegExp): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of PostgreSQL that reads the wire protocol as it passes (plain TCP: the test database has no
 * TLS) and counts what the server it serves really asked and received: SQL statements sent and rows returned. A
 * test can thus measure a server process's database work without trusting the server's own counts.
 */
export async function startPgCounter(target: { host: string; port: number }): Promise<PgCounter> {
  let rows = 0;
  const statements: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    // The client's first message (startup, or a cancel request) has no type byte; every later one, and every
    // message from the server, is a type byte and a 4-byte length that counts itself.
    client.on(
      "data",
      messages(true, (type, body) => {
        if (type === 0x51)
          statements.push(cstring(body, 0)); // Query: the SQL
        else if (type === 0x50) statements.push(cstring(body, body.indexOf(0) + 1)); // Parse: a name, then the SQL
      }),
    );
    upstream.on(
      "data",
      messages(false, (type) => {
        if (type === 0x44) rows++; // DataRow
      }),
    );
    splice(client, upstream, sockets);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    rows: () => rows,
    statements: (pattern) => statements.filter((sql) => pattern.test(sql)).length,
    close: async () => {
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closing;
    },
  };
}

/** A `data` listener that cuts the byte stream into protocol messages and hands each to `onMessage`. */
function messages(untypedFirst: boolean, onMessage: (type: number, body: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let first = untypedFirst;
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    for (;;) {
      if (first) {
        if (pending.length - offset < 4) break;
        const length = pending.readInt32BE(offset);
        if (pending.length - offset < length) break;
        offset += length;
        first = false;
        continue;
      }
      if (pending.length - offset < 5) break;
      const length = pending.readInt32BE(offset + 1);
      if (pending.length - offset < 1 + length) break;
      onMessage(pending[offset]!, pending.subarray(offset + 5, offset + 1 + length));
      offset += 1 + length;
    }
    pending = pending.subarray(offset);
  };
}

const cstring = (body: Buffer, start: number) => body.toString("utf8", start, Math.max(start, body.indexOf(0, start)));
