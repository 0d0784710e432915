import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { RETRY_AFTER_SECONDS, serviceUnavailableFormatted } from "../auth/index.js";
import { isDatabaseUnavailable } from "../data/database.js";
import { InvalidInputError } from "../data/errors.js";
import { nameOurSetting } from "../setting-hints.js";

/**
 * The one classifier of what a client can be told, whatever the transport: each failure is one of these kinds,
 * and the kind decides the log level, the answer's code and status, and `Retry-After`.
 * - `denied`: the rules refused (401/403, `UNAUTHENTICATED`/`FORBIDDEN`); an audit line at info.
 * - `unavailable`: the database (or key set) is unreachable; 503 `SERVICE_UNAVAILABLE`, a warning.
 * - `conflict`: the database reported a serialization failure or deadlock; 503, nothing applied, retry soon.
 * - `bad-input`: the request or its input is wrong (any GraphQLError of our own, `InvalidInputError`); no log.
 * - `internal`: anything else is a bug, logged once at error level with the request id.
 */
export type OutcomeKind = "denied" | "unavailable" | "conflict" | "bad-input" | "internal";

// PostgreSQL: serialization_failure, deadlock_detected. Nothing was applied and the same operation may succeed.
const CONFLICT_SQLSTATES = new Set(["40001", "40P01"]);
const DENIAL_CODES = new Set(["UNAUTHENTICATED", "FORBIDDEN"]);

/** The one `Retry-After` policy (seconds), by kind: an outage lasts longer than a conflict. */
export const RETRY_AFTER: Readonly<Partial<Record<OutcomeKind, number>>> = { unavailable: RETRY_AFTER_SECONDS, conflict: 1 };

/** Whether `error` (a GraphQLError as reported, or a thrown value) is a refusal by the rules. */
export function isDenial(error: { extensions?: Record<string, unknown> } | undefined): boolean {
  return DENIAL_CODES.has(String(error?.extensions?.code));
}

/** Whether `error` (or the error a resolver threw inside it) is a conflict the database reported. */
export function isConflict(error: unknown): boolean {
  const original = (error instanceof GraphQLError ? unwrapResolverError(error) : error) as { code?: unknown } | undefined;
  return typeof original?.code === "string" && CONFLICT_SQLSTATES.has(original.code);
}

/** The kind of one error met while serving a request (see `OutcomeKind`). */
export function classify(error: unknown): OutcomeKind {
  if (error instanceof GraphQLError && isDenial(error)) return "denied";
  if (isDatabaseUnavailable(error)) return "unavailable";
  if (isConflict(error)) return "conflict";
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (!original || original instanceof GraphQLError || original instanceof InvalidInputError) return "bad-input";
  return "internal";
}

/** Class and message of an expected failure, without a stack (the cause is known; the stack would be noise). */
export function errorSummary(error: unknown): { type: string; message: string; code?: string } {
  const e = error as { name?: string; message?: string; code?: string };
  return { type: e?.name ?? typeof error, message: e?.message ?? String(error), ...(e?.code ? { code: e.code } : {}) };
}

/**
 * The client's form of an error, on every transport (Apollo's `formatError`, and the WebSocket transport's):
 * a library's refusal reworded to name our setting (`nameOurSetting`: introspection off, operation limits); input
 * the data layer refused becomes BAD_USER_INPUT with its message (nothing was written); the database being
 * down becomes the fixed SERVICE_UNAVAILABLE error. In production an unexpected error says nothing about its
 * cause; expected ones keep their fixed messages. Expected errors (any code but INTERNAL_SERVER_ERROR) never carry
 * a stack trace, in dev mode either: the trace of a denial or of bad input points into our code, not at the
 * client's mistake.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown, production: boolean): GraphQLFormattedError {
  formatted = nameOurSetting(withoutSchemaHints(formatted, production));
  if (formatted.extensions?.code !== "INTERNAL_SERVER_ERROR" && formatted.extensions?.stacktrace !== undefined) {
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions;
    formatted = { ...formatted, extensions };
  }
  if (isDatabaseUnavailable(error)) {
    return { ...serviceUnavailableFormatted(), path: formatted.path, locations: formatted.locations };
  }
  const original = unwrapResolverError(error);
  if (original instanceof InvalidInputError) {
    return {
      message: original.message,
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: "BAD_USER_INPUT", ...(original.field ? { field: original.field } : {}) },
    };
  }
  if (!production || formatted.extensions?.code !== "INTERNAL_SERVER_ERROR") return formatted;
  return {
    message: "Internal server error.",
    extensions: { code: "INTERNAL_SERVER_ERROR" },
    path: formatted.path,
    locations: formatted.locations,
  };
}

// graphql-js appends ` Did you mean "X", "Y", or "Z"?` (names, which cannot hold a "?") to validation and
// variable coercion messages alike.
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/**
 * Production: no message names a schema element the client did not send. Apollo's DisableSuggestions plugin
 * cleans validation errors only; variable coercion errors (an enum value or input field misspelt in the
 * variables) and anything else are cleaned here, whatever their kind.
 */
function withoutSchemaHints(formatted: GraphQLFormattedError, production: boolean): GraphQLFormattedError {
  if (!production || !formatted.message.includes("Did you mean")) return formatted;
  return { ...formatted, message: formatted.message.replace(SUGGESTION, "") };
}
