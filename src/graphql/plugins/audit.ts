import type { ApolloServerPlugin, GraphQLRequestListener } from "@apollo/server";
import type { AppContext } from "../context.js";
import { decisionRecord, holdForRequestLine, requestLineAudit, type DecisionAudit } from "../decision-records.js";

export interface AuditPluginOptions {
  /** The shared decision-record policy (`DecisionAudit`: AUTH_AUDIT, shadow-denial counter, logger). */
  readonly audit: DecisionAudit;
  /**
   * `true` where the transport writes a request line (the HTTP server): the record goes into that line (its `audit`
   * holds what the line lacks), so a request is one line whatever AUTH_AUDIT says. `false` (Lambda): the record is a
   * line of its own.
   */
  readonly requestLine: boolean;
}

/**
 * Decision records of Apollo's transports (HTTP, Lambda): each request that reached execution is settled by the
 * shared policy once its answer is ready.
 */
export function auditPlugin({ audit, requestLine }: AuditPluginOptions): ApolloServerPlugin<AppContext> {
  // One hooks object for every request: nothing is allocated when nothing is recorded.
  const hooks: GraphQLRequestListener<AppContext> = {
    async willSendResponse({ contextValue, operationName, request, queryHash }) {
      const auth = contextValue?.auth;
      if (!auth) return;
      if (!audit.settle(auth)) return;
      if (requestLine) return holdForRequestLine(auth, requestLineAudit(auth, queryHash));
      audit.write(
        decisionRecord(auth, {
          requestId: contextValue.requestId,
          operation: operationName ?? request.operationName ?? undefined,
          documentHash: queryHash,
        }),
      );
    },
  };
  return { requestDidStart: async () => hooks };
}
