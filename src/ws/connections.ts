import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { WebSocket } from "ws";
import type { Principal, RevocationCheck } from "../auth/index.js";
import type { Config } from "../config.js";
import type { Metrics } from "../metrics.js";
import { KEEPALIVE_MS, WS_CLOSE } from "./close-codes.js";

/** How often the keep-alive looks for connections due a ping. */
const KEEPALIVE_TICK_MS = 1000;

/** One WebSocket connection's state, beside graphql-ws's own. */
export interface Connection {
  readonly id: string;
  readonly socket: WebSocket;
  /** The upgrade request, until `connection_init` has been handled (then dropped: idle heap). */
  request: IncomingMessage | null;
  /** The remote address the upgrade came from (a proxy's behind one): the anonymous cap per address counts it. */
  readonly address: string;
  readonly openedAt: number;
  principal: Principal | null;
  /** Acknowledged anonymously (counted against the anonymous caps until it closes). */
  anonymous: boolean;
  /** When the token stops being accepted (expiry plus the leeway), in milliseconds since the epoch. */
  deadline: number;
  expiry: NodeJS.Timeout | undefined;
  /** When the keep-alive pings next, in milliseconds since the epoch. */
  pingDue: number;
  /** Pinged and no pong since: at `pingDue` the socket is dropped. */
  awaitingPong: boolean;
}

export type CloseSpec = { readonly code: number; readonly reason?: string };

/**
 * The open connections of this replica and the rules on them: the caps (per subject, and for anonymous
 * connections per replica and per remote address), closing with a code (counted and logged), and closing a
 * connection whose token expired or was revoked.
 */
export class ConnectionRegistry {
  readonly all = new Set<Connection>();
  private readonly bySubject = new Map<string, Set<Connection>>();
  private readonly anonymousByAddress = new Map<string, number>();
  private anonymousCount = 0;
  private readonly stopRevocations: (() => void) | undefined;
  private readonly keepAlive: NodeJS.Timeout;

  constructor(
    private readonly config: Config,
    private readonly revocations: RevocationCheck | undefined,
    private readonly logger: Logger | undefined,
    private readonly metrics: Metrics | undefined,
  ) {
    this.stopRevocations = revocations?.onRevoked(() => {
      for (const connection of this.all)
        if (connection.principal && revocations.isRevoked(connection.principal)) this.closeIfLapsed(connection);
    });
    // One timer for every connection's keep-alive instead of one per socket (idle heap, issue #24).
    this.keepAlive = setInterval(() => this.ping(Date.now()), KEEPALIVE_TICK_MS).unref();
  }

  /**
   * The keep-alive: each connection is pinged every `KEEPALIVE_MS` (from its opening, within a tick) and dropped
   * when the pong of the previous ping has not come by the next one.
   */
  private ping(now: number): void {
    for (const connection of this.all) {
      const socket = connection.socket;
      if (now < connection.pingDue || socket.readyState !== socket.OPEN) continue;
      if (connection.awaitingPong) {
        socket.terminate();
        continue;
      }
      connection.awaitingPong = true;
      connection.pingDue = now + KEEPALIVE_MS;
      socket.ping();
    }
  }

  /** Closes a connection with one of WS_CLOSE's codes, once; counted and logged with who and why. */
  closeWith(connection: Connection, close: CloseSpec, log?: { event: string; reason?: string }): void {
    const socket = connection.socket;
    if (socket.readyState !== socket.OPEN && socket.readyState !== socket.CONNECTING) return;
    socket.close(close.code, close.reason);
    this.metrics?.wsCloses.inc({ code: String(close.code) });
    if (log)
      this.logger?.info(
        { event: log.event, connectionId: connection.id, sub: connection.principal?.sub, code: close.code, reason: log.reason },
        close.reason ?? "connection closed",
      );
  }

  /**
   * Admits an acknowledged connection for `principal`, or closes it (4403) when its subject, or the anonymous
   * connections of the replica or of its remote address, are at their cap. Returns whether it was admitted.
   */
  admit(connection: Connection, principal: Principal | null): boolean {
    if (!principal) return this.admitAnonymous(connection);
    const open = this.bySubject.get(principal.sub) ?? new Set<Connection>();
    if (open.size >= this.config.ws.maxConnectionsPerSubject) {
      connection.principal = principal;
      this.closeWith(connection, WS_CLOSE.TOO_MANY_CONNECTIONS, { event: "ws.connection_refused", reason: "TOO_MANY_CONNECTIONS" });
      connection.principal = null;
      return false;
    }
    open.add(connection);
    this.bySubject.set(principal.sub, open);
    connection.principal = principal;
    // The verifier accepted the token up to `exp` plus the leeway; so does the connection.
    connection.deadline = principal.expiresAt.getTime() + this.config.auth.clockSkewSeconds * 1000;
    this.scheduleExpiry(connection);
    return true;
  }

  private admitAnonymous(connection: Connection): boolean {
    const address = connection.address;
    const fromAddress = this.anonymousByAddress.get(address) ?? 0;
    if (this.anonymousCount >= this.config.ws.maxAnonymousConnections || fromAddress >= this.config.ws.maxAnonymousConnectionsPerAddress) {
      this.closeWith(connection, WS_CLOSE.TOO_MANY_ANONYMOUS, { event: "ws.connection_refused", reason: "TOO_MANY_ANONYMOUS_CONNECTIONS" });
      return false;
    }
    connection.anonymous = true;
    this.anonymousCount++;
    this.anonymousByAddress.set(address, fromAddress + 1);
    return true;
  }

  /** Forgets a closed connection (its caps' counts and timers). */
  release(connection: Connection): void {
    clearTimeout(connection.expiry);
    this.all.delete(connection);
    if (connection.principal) {
      const open = this.bySubject.get(connection.principal.sub);
      open?.delete(connection);
      if (open?.size === 0) this.bySubject.delete(connection.principal.sub);
    }
    if (connection.anonymous) {
      connection.anonymous = false;
      this.anonymousCount--;
      const address = connection.address;
      const left = (this.anonymousByAddress.get(address) ?? 1) - 1;
      if (left > 0) this.anonymousByAddress.set(address, left);
      else this.anonymousByAddress.delete(address);
    }
  }

  /** Closes the connection (4401) when its token expired or its session was revoked; true when it did. */
  closeIfLapsed(connection: Connection): boolean {
    if (!connection.principal) return false;
    if (Date.now() >= connection.deadline) {
      this.closeWith(connection, WS_CLOSE.TOKEN_EXPIRED, { event: "ws.token_expired" });
      return true;
    }
    if (this.revocations?.isRevoked(connection.principal)) {
      this.closeWith(connection, WS_CLOSE.TOKEN_REVOKED, { event: "ws.token_revoked", reason: "TOKEN_REVOKED" });
      return true;
    }
    return false;
  }

  /** The connection's deadline moved (a refreshed token): its expiry timer is armed again. */
  rescheduleExpiry(connection: Connection): void {
    clearTimeout(connection.expiry);
    this.scheduleExpiry(connection);
  }

  /** Closes the connection when its token lapses; a timer that fires early (timers and the wall clock differ) waits again. */
  private scheduleExpiry(connection: Connection): void {
    connection.expiry = setTimeout(
      () => {
        if (!this.closeIfLapsed(connection) && connection.socket.readyState === connection.socket.OPEN) this.scheduleExpiry(connection);
      },
      Math.max(0, connection.deadline - Date.now()) + 5,
    );
  }

  /** Stops following revocations and the keep-alive. */
  stop(): void {
    clearInterval(this.keepAlive);
    this.stopRevocations?.();
  }
}
