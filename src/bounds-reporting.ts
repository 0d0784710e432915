import type { ApolloServerPlugin, GraphQLRequestListener } from "@apollo/server";
import type { Logger } from "pino";
import type { CognitoCallReporting } from "./auth-setup.js";
import { exceededBound, type DatabaseBound } from "./data/database.js";
import type { Metrics } from "./metrics.js";

/**
 * How a wait cut off by its bound is reported: one `warn` line (`event: "bound.exceeded"`, the bound, the request
 * id) and `bounded_waits_exceeded_total{bound}`. The answers themselves are built elsewhere (the error table's
 * 503 `SERVICE_UNAVAILABLE` for the database's bounds; an order without the email for Cognito's).
 */

export interface BoundReporting {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/** Reports `error` when it ran into a database bound; answers whether it did. */
export function reportDatabaseBound(
  reporting: BoundReporting,
  error: unknown,
  request: { readonly requestId?: string; readonly operation?: string } = {},
): DatabaseBound | null {
  const bound = exceededBound(error);
  if (bound === null) return null;
  reporting.metrics?.boundsExceeded.inc({ bound });
  reporting.logger?.warn(
    { event: "bound.exceeded", bound, requestId: request.requestId, operation: request.operation },
    `database wait cut off by ${bound}`,
  );
  return bound;
}

/** An Apollo plugin reporting, once per request, a database bound that one of its errors ran into. */
export function boundsReportingPlugin<TContext extends { readonly requestId?: string }>(
  reporting: BoundReporting,
): ApolloServerPlugin<TContext> {
  const hooks: GraphQLRequestListener<TContext> = {
    async didEncounterErrors({ errors, contextValue, operationName }) {
      for (const error of errors) {
        if (reportDatabaseBound(reporting, error, { requestId: contextValue?.requestId, operation: operationName ?? undefined })) return;
      }
    },
  };
  return { requestDidStart: async () => hooks };
}

/**
 * Where guarded Cognito calls of one kind (`calls`: `GetUser` for emails, `sign-out` for revocations) report:
 * `dependency_calls_total{dependency="cognito"}` for every call, a `bound.exceeded` warning and
 * `bounded_waits_exceeded_total{bound="cognito_call"}` for a call cut off by COGNITO_TIMEOUT_MS, and a `warn` line
 * when the circuit opens (`info` when it closes again).
 */
export function cognitoCallReporting(reporting: BoundReporting, calls: string): CognitoCallReporting {
  return {
    onOutcome(operation, outcome, durationMs) {
      reporting.metrics?.dependencyCalls.inc({ dependency: "cognito", operation, outcome });
      if (outcome !== "timeout") return;
      reporting.metrics?.boundsExceeded.inc({ bound: "cognito_call" });
      reporting.logger?.warn(
        { event: "bound.exceeded", bound: "cognito_call", operation, durationMs: Math.round(durationMs) },
        `Cognito ${operation} cut off by COGNITO_TIMEOUT_MS`,
      );
    },
    onCircuitChange(state) {
      const level = state === "open" ? "warn" : "info";
      reporting.logger?.[level](
        { event: "cognito.circuit", calls, state },
        state === "open"
          ? `Cognito ${calls} calls failing; not calling Cognito for COGNITO_BREAKER_OPEN_SECONDS`
          : `Cognito ${calls} circuit ${state}`,
      );
    },
  };
}
