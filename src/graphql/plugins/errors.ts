import type { ApolloServerPlugin, GraphQLRequestListener } from "@apollo/server";
import type { GraphQLError } from "graphql";
import type { Logger } from "pino";
import { serviceUnavailableFormatted } from "../../auth/index.js";
import type { AppContext } from "../context.js";
import { classify, errorSummary, isDenial, RETRY_AFTER } from "../outcomes.js";
import { noteOperationName, requestIdOf } from "../request-id.js";

/**
 * What a request's errors mean for operators and for the answer (kinds from `outcomes.ts`):
 * - an unexpected error (a bug, a renamed table) is logged once at error level with the request id, operation,
 *   class, message and stack; the client gets the fixed message and the request id to quote;
 * - the database being unreachable is logged as a warning and answered 503 `SERVICE_UNAVAILABLE` with
 *   `Retry-After` and `data: null` (the operation did nothing that committed);
 * - each denial by the rules gets an audit line with the request id, the caller's sub and jti;
 * - each row a lookup answered as absent because the caller may not see it gets an `auth.concealed` line: the
 *   client cannot tell it from an id that matches nothing, an operator can.
 * Nothing here logs a header or a token.
 */
export function errorsPlugin(logger: Logger | undefined): ApolloServerPlugin<AppContext> {
  // One hooks object for all requests: nothing is allocated per request unless there are errors.
  const hooks: GraphQLRequestListener<AppContext> = {
    async didResolveOperation({ request, operationName }) {
      noteOperationName(request.http, operationName);
    },
    async didEncounterErrors({ errors, contextValue, operationName, request }) {
      const requestId = requestIdOf(request.http);
      const operation = operationName ?? request.operationName ?? undefined;
      logErrors(logger, errors, requestId, operation);
      const denied = errors.filter(isDenial);
      if (denied.length === 0 || !contextValue?.auth) return;
      logger?.info(
        {
          event: "auth.denied",
          requestId,
          operation,
          sub: contextValue.principal?.sub,
          jti: contextValue.principal?.tokenId ?? undefined,
          reasons: [...new Set(denied.map((e) => (e.extensions?.auth as { reason?: string } | undefined)?.reason))],
          paths: denied.map((e) => e.path?.join(".") ?? "(operation)"),
        },
        "request denied by @auth rules",
      );
    },
    async willSendResponse({ response, errors, request, contextValue, operationName }) {
      const concealed = contextValue?.auth?.concealed;
      if (concealed && concealed.length > 0) {
        logger?.info(
          {
            event: "auth.concealed",
            requestId: requestIdOf(request.http),
            operation: operationName ?? request.operationName ?? undefined,
            sub: contextValue.principal?.sub,
            jti: contextValue.principal?.tokenId ?? undefined,
            reasons: ["NOT_VISIBLE"],
            coordinates: [...new Set(concealed.map((c) => c.coordinate))],
            paths: concealed.map((c) => c.path),
          },
          "a row the caller may not see was answered as absent",
        );
      }
      if (!errors || response.body.kind !== "single") return;
      const result = response.body.singleResult;
      if (errors.some((e) => classify(e) === "unavailable")) {
        response.http.status = 503;
        response.http.headers.set("retry-after", String(RETRY_AFTER.unavailable));
        result.data = null;
        result.errors = [serviceUnavailableFormatted()];
        return;
      }
      // The fixed message says nothing; the request id lets the client point at the log line.
      const requestId = requestIdOf(request.http);
      if (!requestId) return;
      for (const formatted of result.errors ?? []) {
        if (formatted.extensions?.code === "INTERNAL_SERVER_ERROR") (formatted.extensions as Record<string, unknown>).requestId = requestId;
      }
    },
  };
  return { requestDidStart: async () => hooks };
}

/**
 * The log lines a request's errors call for, on every transport: one warning when the database is unreachable,
 * one error line per unexpected error (a conflict too: the client retries it, but an operator should see them
 * rise). Denials and bad input are not logged here.
 */
export function logErrors(
  logger: Logger | undefined,
  errors: readonly GraphQLError[],
  requestId: string | undefined,
  operation: string | undefined,
  extra: Record<string, unknown> = {},
): void {
  if (!logger) return;
  const unavailable = errors.find((e) => classify(e) === "unavailable");
  if (unavailable) {
    logger.warn(
      { event: "db.unavailable", requestId, ...extra, operation, err: errorSummary(unavailable.originalError ?? unavailable) },
      "database unavailable; answered 503",
    );
  }
  for (const error of errors) {
    const kind = classify(error);
    if (kind !== "internal" && kind !== "conflict") continue;
    logger.error({ requestId, ...extra, operation, path: error.path?.join("."), err: error.originalError }, "unexpected error");
  }
}
