import { GraphQLError } from "graphql";

/**
 * The one place that owns the auth failure kinds: their HTTP status, `extensions.code`,
 * `WWW-Authenticate` value and fixed message. Callers branch on the class or on `reason`,
 * never on message text.
 */

/** Why a request was refused. Production responses carry only this code, never details. */
export type AuthReason =
  // 400: the request itself is malformed (RFC 6750 invalid_request)
  | "AUTHORIZATION_MALFORMED"
  | "AUTHORIZATION_DUPLICATED"
  | "TOKEN_IN_URL"
  | "TOKEN_IN_COOKIE"
  // 401: a token was presented but cannot be trusted (RFC 6750 invalid_token)
  | "TOKEN_MALFORMED"
  | "TOKEN_TOO_LARGE"
  | "TOKEN_HEADER_REJECTED"
  | "TOKEN_SIGNATURE_INVALID"
  | "TOKEN_UNKNOWN_KEY"
  | "TOKEN_EXPIRED"
  | "TOKEN_NOT_YET_VALID"
  | "TOKEN_ISSUED_IN_FUTURE"
  | "TOKEN_LIFETIME_TOO_LONG"
  | "TOKEN_WRONG_ISSUER"
  | "TOKEN_WRONG_CLIENT"
  // An access token without an `aud` naming one of COGNITO_ACCESS_TOKEN_AUDIENCE (minted for another resource server)
  | "TOKEN_WRONG_AUDIENCE"
  | "TOKEN_WRONG_USE"
  | "TOKEN_CLAIMS_INVALID"
  | "TOKEN_INVALID"
  // The token's session, or every session of its subject before a moment, was revoked (see revocation.ts)
  | "TOKEN_REVOKED"
  // 401 / 403: the caller is known (or anonymous) but lacks a requirement
  | "AUTHENTICATION_REQUIRED"
  | "INSUFFICIENT_PERMISSION"
  // 503: our dependency is down
  | "KEYS_UNAVAILABLE";

export type AuthErrorCode = "BAD_REQUEST" | "UNAUTHENTICATED" | "FORBIDDEN" | "AUTH_UNAVAILABLE";

/** Base of every auth failure. `detail` is for developers and logs; it never reaches a production client. */
export abstract class AuthError extends Error {
  abstract readonly code: AuthErrorCode;
  abstract readonly status: number;
  constructor(
    readonly reason: AuthReason,
    readonly detail?: string,
  ) {
    super(detail ?? reason);
    this.name = new.target.name;
  }
}

/** The Authorization header (or the request around it) breaks RFC 6750: HTTP 400. */
export class InvalidRequestError extends AuthError {
  readonly code = "BAD_REQUEST";
  readonly status = 400;
}

/** A token was presented but is not acceptable: HTTP 401 invalid_token. */
export class InvalidTokenError extends AuthError {
  readonly code = "UNAUTHENTICATED";
  readonly status = 401;
}

/** The key set cannot be fetched or parsed: HTTP 503 with Retry-After. */
export class AuthUnavailableError extends AuthError {
  readonly code = "AUTH_UNAVAILABLE";
  readonly status = 503;
}

/**
 * The code of a request refused because a dependency other than the key set is down (the database): HTTP 503
 * with `Retry-After`. It lives here with the other codes so that one module owns the error table; the auth
 * layer itself never raises it.
 */
export const SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE";
/** The fixed message of `SERVICE_UNAVAILABLE`: the operation did nothing and may be retried. */
export const SERVICE_UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; nothing was changed. Retry later.";

/** What a denial explains in dev mode: the rule that applied and the entries that failed. */
export interface DenialExplanation {
  /** The place decided on, as `Type.field`. */
  readonly coordinate: string;
  readonly required: readonly string[];
  readonly missing: readonly string[];
}

const MESSAGES: Record<AuthErrorCode, string> = {
  BAD_REQUEST: "The Authorization header is malformed or the token was sent in a way that is not allowed.",
  UNAUTHENTICATED: "The bearer token is invalid or expired.",
  FORBIDDEN: "You do not have permission to perform this operation.",
  AUTH_UNAVAILABLE: "Authentication is temporarily unavailable. Retry later.",
};

const DENIAL_MESSAGES = {
  operation: {
    UNAUTHENTICATED: "Authentication is required to perform this operation.",
    FORBIDDEN: MESSAGES.FORBIDDEN,
  },
  field: {
    UNAUTHENTICATED: "Authentication is required to access this field.",
    FORBIDDEN: "You do not have permission to access this field.",
  },
} as const;

/** Seconds a client should wait before retrying when the key set or the database is unavailable (503). */
export const RETRY_AFTER_SECONDS = 5;

const WWW_AUTHENTICATE: Record<AuthErrorCode, string | undefined> = {
  BAD_REQUEST: 'Bearer error="invalid_request"',
  UNAUTHENTICATED: 'Bearer error="invalid_token"',
  FORBIDDEN: 'Bearer error="insufficient_scope"',
  AUTH_UNAVAILABLE: undefined,
};

/** How much an error may say: dev mode explains, production gives only the reason code. */
export interface ErrorPosture {
  readonly explain: boolean;
}

/**
 * Apollo's `extensions.http`: it sets the response status and headers, and wants the headers as a Map. Typed
 * loosely because other GraphQL servers' types (Yoga's, in the benchmark) declare a different shape for it.
 */
function httpExtension(status: number, headers: [string, string][]): Record<string, unknown> {
  return { status, headers: new Map(headers) };
}

/**
 * The `SERVICE_UNAVAILABLE` error as it is sent (code and fixed message, nothing else), for answers built after
 * execution: every 503 of the database's outage carries exactly this, whoever builds it.
 */
export const serviceUnavailableFormatted = () => ({ message: SERVICE_UNAVAILABLE_MESSAGE, extensions: { code: SERVICE_UNAVAILABLE } });

/**
 * The error for a request whose database could not be reached (thrown before execution, e.g. from the context
 * factory): HTTP 503, `Retry-After: RETRY_AFTER_SECONDS`, code `SERVICE_UNAVAILABLE`, a fixed message. Errors met
 * during execution get the same status and header from the server's response plugin.
 */
export function serviceUnavailableError(): GraphQLError {
  return new GraphQLError(SERVICE_UNAVAILABLE_MESSAGE, {
    extensions: { code: SERVICE_UNAVAILABLE, http: httpExtension(503, [["retry-after", String(RETRY_AFTER_SECONDS)]]) },
  });
}

/** Turns a failure of the request as a whole (before execution) into the GraphQLError Apollo answers with. */
export function requestError(error: AuthError, posture: ErrorPosture): GraphQLError {
  const headers: [string, string][] = [];
  const challenge = WWW_AUTHENTICATE[error.code];
  if (challenge) headers.push(["www-authenticate", challenge]);
  if (error.status === 503) headers.push(["retry-after", String(RETRY_AFTER_SECONDS)]);
  const extensions: Record<string, unknown> = {
    code: error.code,
    auth: posture.explain ? { reason: error.reason, detail: error.detail } : { reason: error.reason },
    http: httpExtension(error.status, headers),
  };
  return new GraphQLError(MESSAGES[error.code], { extensions });
}

/** A whole operation refused by the rules: 401 for an anonymous caller, 403 for a verified one. */
export function operationDenied(anonymous: boolean, explanations: readonly DenialExplanation[], posture: ErrorPosture): GraphQLError {
  const code = anonymous ? "UNAUTHENTICATED" : "FORBIDDEN";
  const reason: AuthReason = anonymous ? "AUTHENTICATION_REQUIRED" : "INSUFFICIENT_PERMISSION";
  const extensions: Record<string, unknown> = {
    code,
    auth: posture.explain ? { reason, denied: explanations } : { reason },
    http: httpExtension(anonymous ? 401 : 403, [["www-authenticate", anonymous ? "Bearer" : WWW_AUTHENTICATE.FORBIDDEN!]]),
  };
  return new GraphQLError(DENIAL_MESSAGES.operation[code], { extensions });
}

/** A denied field inside an otherwise answered query: the field becomes null, status stays 200. */
export function fieldDenied(anonymous: boolean, explanation: DenialExplanation, posture: ErrorPosture): GraphQLError {
  const code = anonymous ? "UNAUTHENTICATED" : "FORBIDDEN";
  const reason: AuthReason = anonymous ? "AUTHENTICATION_REQUIRED" : "INSUFFICIENT_PERMISSION";
  return new GraphQLError(DENIAL_MESSAGES.field[code], {
    extensions: { code, auth: posture.explain ? { reason, ...explanation } : { reason } },
  });
}
