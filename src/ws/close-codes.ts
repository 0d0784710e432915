import { CloseCode } from "graphql-ws";

/**
 * The close codes this server uses, with the fixed reasons it sends. A reason never carries a token, a claim or a
 * key id; a token refusal adds its reason code (`TOKEN_EXPIRED`, ...), which is no secret.
 */
export const WS_CLOSE = {
  /** Server shutting down (graceful): reconnect, to another replica. */
  SHUTDOWN: { code: 1001, reason: "Server shutting down; reconnect" },
  /** A message over `WS_MAX_MESSAGE_BYTES` (sent by the `ws` library, reason "Max payload size exceeded"). */
  MESSAGE_TOO_BIG: { code: 1009 },
  /** The key set cannot be fetched: retry later with the same token. */
  AUTH_UNAVAILABLE: { code: 1013, reason: "Authentication temporarily unavailable; retry later" },
  /** The connection_init payload's Authorization is malformed, or a token came in the URL or a cookie. */
  BAD_REQUEST: { code: CloseCode.BadRequest, reason: "Bad request" },
  /** The token is invalid; also when it expires or its session is revoked while connected. */
  UNAUTHORIZED: { code: CloseCode.Unauthorized, reason: "Invalid token" },
  TOKEN_EXPIRED: { code: CloseCode.Unauthorized, reason: "Token expired" },
  TOKEN_REVOKED: { code: CloseCode.Unauthorized, reason: "Token revoked" },
  /** `WS_MAX_CONNECTIONS_PER_SUBJECT` connections of this token's subject are already open on this replica. */
  TOO_MANY_CONNECTIONS: { code: CloseCode.Forbidden, reason: "Too many connections for this subject" },
  /**
   * An anonymous connection (no token in `connection_init`) beyond `WS_MAX_ANONYMOUS_CONNECTIONS` on this replica
   * or `WS_MAX_ANONYMOUS_CONNECTIONS_PER_ADDRESS` from one remote address: connect with a token, or later.
   */
  TOO_MANY_ANONYMOUS: { code: CloseCode.Forbidden, reason: "Too many anonymous connections" },
  /** An anonymous connection to a schema without any `@public` Subscription field: it could serve nothing. */
  AUTHENTICATION_REQUIRED: { code: CloseCode.Unauthorized, reason: "Authentication required" },
  /** A bug on our side; the log has an error line with the connection id. */
  INTERNAL: { code: CloseCode.InternalServerError, reason: "Internal server error" },
} as const;

/** The `extensions.code` of a subscription refused because its connection has `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`. */
export const SUBSCRIPTION_LIMIT = "SUBSCRIPTION_LIMIT";
/** How often an idle socket is pinged; one that does not answer within the same time is dropped. */
export const KEEPALIVE_MS = 12_000;
/** How long shutdown waits for clients to answer the 1001 close before it drops their sockets. */
export const CLOSE_WAIT_MS = 1000;
