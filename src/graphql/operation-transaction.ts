import {
  HeaderMap,
  type ApolloServerPlugin,
  type GraphQLRequestContextWillSendResponse,
  type GraphQLRequestListener,
  type GraphQLResponse,
} from "@apollo/server";
import type { GraphQLFormattedError } from "graphql";
import type { ControlledTransaction } from "kysely";
import type { Logger } from "pino";
import { SERVICE_UNAVAILABLE, serviceUnavailableFormatted } from "../auth/index.js";
import { createLoaders } from "../data/loaders.js";
import { requestIdOf } from "./request-id.js";
import type { Database } from "../data/tables.js";
import { runBeforeCommit, startTransaction } from "../data/transaction.js";
import type { AppContext } from "./context.js";
import { isConflict, RETRY_AFTER } from "./outcomes.js";
import { runRemoteSteps } from "./remote-calls.js";
import { REMOTE_STEPS } from "./remote-steps.js";

/** Seconds a client should wait before retrying an operation that conflicted with another or failed to commit. */
export const RETRY_AFTER_SECONDS = RETRY_AFTER.conflict!;

/** Codes of answers that refuse the operation whole; they keep the shape of a refusal before execution. */
const REFUSAL_CODES = new Set(["UNAUTHENTICATED", "FORBIDDEN"]);

export interface OperationTransactionOptions {
  /** Where a failed commit or rollback is logged (error level). */
  readonly logger?: Logger;
  /** Told when the transaction could not be opened (a bound exceeded is reported from here: src/bounds-reporting.ts). */
  readonly onUnavailable?: (error: unknown, request: { readonly requestId?: string; readonly operation?: string }) => void;
}

/**
 * One database transaction per mutation operation, shared by all its root fields and everything they resolve:
 * the context's `db` and `loaders` are swapped for the transaction's when execution starts, so a field reads the
 * writes of the fields before it.
 *
 * It commits only when the whole operation finished without any error, and before the answer leaves (a client
 * that sees success finds the data committed). Any error rolls back every field, and the answer has
 * `data: null`:
 * - a refusal (`FORBIDDEN`/`UNAUTHENTICATED`) keeps the shape the auth layer gave it (401/403, one error);
 * - every other error is answered as before, with `extensions.rolledBack: true` saying the operation was not
 *   applied;
 * - a conflict the database reports (deadlock, serialization failure) or a failed commit: 503
 *   `SERVICE_UNAVAILABLE` with `Retry-After: 1` and `rolledBack`, nothing applied;
 * - a transaction that cannot be opened (the database unreachable): the error table's 503 `SERVICE_UNAVAILABLE`
 *   with the outage's `Retry-After`, before any resolver ran.
 *
 * Before the transaction opens, the remote calls of the fields the operation selects are made (`REMOTE_STEPS`),
 * and no other remote call can be made after (the request's `RemoteCalls` is sealed): no transaction waits for
 * Cognito.
 *
 * Queries run outside any transaction, on the shared database.
 */
export function operationTransactionPlugin(options: OperationTransactionOptions = {}): ApolloServerPlugin<AppContext> {
  const open = new WeakMap<AppContext, { trx: ControlledTransaction<Database>; afterCommit: (() => void)[] }>();
  const hooks: GraphQLRequestListener<AppContext> = {
    // Opened here, the last hook before execution, because this one may answer instead of executing: an error
    // thrown from executionDidStart would reach the client as a bare 500.
    async responseForOperation({ operation, contextValue, request, operationName, schema, document }) {
      if (operation?.operation !== "mutation") return null;
      // Remote calls first (Cognito), each within its own deadline, while no connection is held; then none.
      await runRemoteSteps(REMOTE_STEPS, { schema, document, operation, variables: request.variables, context: contextValue });
      contextValue.remote?.seal();
      let trx: ControlledTransaction<Database>;
      try {
        trx = await startTransaction(contextValue.db);
      } catch (error) {
        reportUnavailable(options, error, requestIdOf(request.http), operationName ?? undefined);
        return unavailableResponse();
      }
      const afterCommit: (() => void)[] = [];
      open.set(contextValue, { trx, afterCommit });
      contextValue.afterCommit = (action) => void afterCommit.push(action);
      contextValue.db = trx;
      contextValue.loaders = createLoaders(trx);
      return null;
    },
    async willSendResponse(requestContext) {
      const operation = open.get(requestContext.contextValue);
      if (!operation) return;
      const { trx } = operation;
      open.delete(requestContext.contextValue);
      const errors = requestContext.errors ?? [];
      if (errors.length === 0) {
        try {
          await runBeforeCommit(trx);
          await trx.commit().execute();
        } catch (error) {
          // PostgreSQL ends a transaction whose COMMIT fails, but Kysely keeps the connection until a rollback
          // (it releases it by itself only for its AbortedTransactionError): without this, a deferred constraint
          // failing at commit would leak a pool connection, and on PGlite, the only one.
          options.logger?.error(
            { err: error, event: "db.commit_failed", operation: requestContext.operationName ?? undefined },
            "commit failed",
          );
          await trx
            .rollback()
            .execute()
            .catch(() => undefined);
          answerNotApplied(requestContext, "The operation could not be committed and was not applied. Retry it.");
          return;
        }
        // Before the answer leaves: a client that saw the operation succeed finds its effects in this process.
        runAfterCommit(operation.afterCommit, options, requestContext);
        return;
      }
      try {
        await trx.rollback().execute();
      } catch (error) {
        // The connection is released even so, and PostgreSQL drops an unfinished transaction with its connection.
        options.logger?.error(
          { err: error, event: "db.rollback_failed", operation: requestContext.operationName ?? undefined },
          "rollback failed",
        );
      }
      // A refusal stands even if the database also failed: retrying would not help.
      if (errors.some(isConflict) && !isRefusal(requestContext)) {
        answerNotApplied(requestContext, "The operation conflicted with a concurrent one and was not applied. Retry it.");
        return;
      }
      markRolledBack(requestContext);
    },
  };
  return { requestDidStart: async () => hooks };
}

/** Logs (warn) and reports a transaction that could not be opened: the operation is answered 503. */
function reportUnavailable(
  options: OperationTransactionOptions,
  error: unknown,
  requestId: string | undefined,
  operation: string | undefined,
) {
  const err = { type: (error as Error)?.name, message: (error as Error)?.message, code: (error as { code?: string })?.code };
  options.logger?.warn({ event: "db.unavailable", requestId, operation, err }, "could not open the operation's transaction; answered 503");
  options.onUnavailable?.(error, { requestId, operation });
}

/** Runs each after-commit action; one that throws is logged at error level and the others still run. */
function runAfterCommit(
  actions: readonly (() => void)[],
  options: OperationTransactionOptions,
  requestContext: GraphQLRequestContextWillSendResponse<AppContext>,
): void {
  for (const action of actions) {
    try {
      action();
    } catch (error) {
      options.logger?.error(
        { err: error, event: "after_commit_failed", requestId: requestIdOf(requestContext.request.http) },
        "an after-commit action failed",
      );
    }
  }
}

/**
 * Whether the answer is a whole refusal. Read after the rollback was awaited, so after the auth layer's
 * (synchronous) rewrite of the same hook, whatever the order of the plugins.
 */
function isRefusal({ response }: GraphQLRequestContextWillSendResponse<AppContext>): boolean {
  return (
    response.body.kind === "single" && (response.body.singleResult.errors ?? []).some((e) => REFUSAL_CODES.has(String(e.extensions?.code)))
  );
}

/** Every error of the answer says the operation was not applied; a whole refusal stays as the auth layer made it. */
function markRolledBack({ response }: GraphQLRequestContextWillSendResponse<AppContext>): void {
  if (response.body.kind !== "single") return;
  const result = response.body.singleResult;
  // No data at all: execution stopped before any resolver ran (bad variables, 400); there is nothing to undo.
  if (result.data === undefined) return;
  const mark = (error: GraphQLFormattedError): GraphQLFormattedError =>
    REFUSAL_CODES.has(String(error.extensions?.code)) ? error : { ...error, extensions: { ...error.extensions, rolledBack: true } };
  response.body.singleResult = { ...result, data: null, errors: result.errors?.map(mark) };
}

/** The answer when the database, not the operation, failed: nothing applied, retry. */
function answerNotApplied({ response }: GraphQLRequestContextWillSendResponse<AppContext>, message: string): void {
  response.body = {
    kind: "single",
    singleResult: { data: null, errors: [{ message, extensions: { code: SERVICE_UNAVAILABLE, rolledBack: true } }] },
  };
  response.http.status = 503;
  response.http.headers.set("retry-after", String(RETRY_AFTER_SECONDS));
}

/** The error table's "database unreachable" answer, when the operation's transaction cannot even be opened. */
function unavailableResponse(): GraphQLResponse {
  return {
    http: { status: 503, headers: new HeaderMap([["retry-after", String(RETRY_AFTER.unavailable)]]) },
    body: { kind: "single", singleResult: { data: null, errors: [serviceUnavailableFormatted()] } },
  };
}
