import { GraphQLError } from "graphql";
import type { Logger } from "pino";
import type { AuthContext, CredentialSources, Principal } from "../auth/index.js";

/**
 * Token refresh on an open WebSocket, within the graphql-ws protocol: the client sends a `ping` whose payload has
 * an `Authorization` entry (any letter case), `{ "type": "ping", "payload": { "Authorization": "Bearer <token>" } }`.
 * The token is verified exactly as `connection_init`'s (the same authenticator: signature, pool, client, expiry,
 * revocation). A valid token of the connection's own `sub` becomes the connection's: its expiry moves to the new
 * token's `exp` (plus AUTH_CLOCK_SKEW_SECONDS) and its groups and scopes apply to the events delivered from then on.
 * The answer is a `pong` whose payload is `{ "expiresAt": <the connection's token exp, seconds since the epoch> }`
 * (never the token back). A token that is invalid, expired or revoked closes the socket with 4401
 * `Invalid token: <REASON>`; a token of another subject (or any token on an anonymous connection) with 4401
 * `Token is for another subject`; an `Authorization` that is not `Bearer <token>` with 4400. When the key set
 * cannot be fetched, the connection keeps its token and the pong says the unchanged `expiresAt` (retry later).
 * A ping without `Authorization` is an ordinary ping, answered with a pong echoing its payload.
 */
export const REFRESH_OTHER_SUBJECT = { code: 4401, reason: "Token is for another subject" } as const;

/** The part of a connection a refresh reads and moves. */
export interface RefreshableConnection {
  readonly id: string;
  principal: Principal | null;
  /** When the token stops being accepted (expiry plus the leeway), in milliseconds since the epoch. */
  deadline: number;
}

export interface TokenRefreshOptions {
  /** The connections' authenticator (`createAuthenticator`, revocations included). */
  readonly authenticate: (sources: CredentialSources) => Promise<AuthContext>;
  /** AUTH_CLOCK_SKEW_SECONDS in milliseconds: a token is accepted up to `exp` plus this. */
  readonly leewayMs: number;
  /** Closes the connection with a code and reason (the transport's own close, counted and logged). */
  readonly close: (
    connection: RefreshableConnection,
    close: { code: number; reason: string },
    log: { event: string; reason?: string },
  ) => void;
  /** The connection's deadline moved: re-arm its expiry timer. */
  readonly rescheduleExpiry: (connection: RefreshableConnection) => void;
  readonly logger?: Logger;
}

/**
 * The transport's answer to a client `ping`: a token refresh when the payload carries `Authorization`, an ordinary
 * pong otherwise. `send` sends one protocol message (a JSON string). Never throws for a client's bad token.
 */
export function createPingAnswer(options: TokenRefreshOptions) {
  return async function answerPing(
    connection: RefreshableConnection,
    payload: Record<string, unknown> | undefined,
    send: (message: string) => Promise<void>,
  ): Promise<void> {
    const authorization = payload
      ? Object.entries(payload)
          .filter(([name]) => name.toLowerCase() === "authorization")
          .map(([, value]) => value)
      : [];
    if (authorization.length === 0) return send(JSON.stringify(payload ? { type: "pong", payload } : { type: "pong" }));
    if (authorization.length > 1 || typeof authorization[0] !== "string") {
      options.close(
        connection,
        { code: 4400, reason: "Bad request" },
        { event: "ws.token_refresh_refused", reason: "AUTHORIZATION_MALFORMED" },
      );
      return;
    }
    let principal: Principal | null;
    try {
      ({ principal } = await options.authenticate({ authorization: [authorization[0]], search: "", cookie: undefined }));
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const code = String(error.extensions?.code);
      const reason = (error.extensions?.auth as { reason?: string } | undefined)?.reason ?? "ERROR";
      if (code === "AUTH_UNAVAILABLE") {
        options.logger?.warn(
          { event: "ws.token_refresh_deferred", connectionId: connection.id, sub: connection.principal?.sub, reason },
          "token refresh deferred: the key set cannot be fetched",
        );
        return send(pongOf(connection));
      }
      const close = code === "BAD_REQUEST" ? { code: 4400, reason: "Bad request" } : { code: 4401, reason: `Invalid token: ${reason}` };
      options.close(connection, close, { event: "ws.token_refresh_refused", reason });
      return;
    }
    if (!principal || !connection.principal || principal.sub !== connection.principal.sub) {
      options.close(connection, REFRESH_OTHER_SUBJECT, { event: "ws.token_refresh_refused", reason: "OTHER_SUBJECT" });
      return;
    }
    connection.principal = principal;
    connection.deadline = principal.expiresAt.getTime() + options.leewayMs;
    options.rescheduleExpiry(connection);
    options.logger?.info(
      { event: "ws.token_refreshed", connectionId: connection.id, sub: principal.sub, expiresAt: principal.expiresAt.toISOString() },
      "websocket token refreshed",
    );
    return send(pongOf(connection));
  };
}

const pongOf = (connection: RefreshableConnection) =>
  JSON.stringify({
    type: "pong",
    payload: { expiresAt: connection.principal ? Math.floor(connection.principal.expiresAt.getTime() / 1000) : null },
  });
