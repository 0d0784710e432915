import { randomUUID } from "node:crypto";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { makeServer, type Server } from "graphql-ws";
import type { Logger } from "pino";
import type { AuthContext, CredentialSources, Principal } from "../auth/index.js";
import type { Config } from "../config.js";
import type { AppContext } from "../graphql/context.js";
import { logErrors } from "../graphql/plugins/errors.js";
import { formatError } from "../graphql/outcomes.js";
import type { createSubscriptionStarter, StartedSubscription } from "../graphql/subscription-operation.js";
import { SUBSCRIPTION_LIMIT, WS_CLOSE } from "./close-codes.js";
import type { Connection, ConnectionRegistry } from "./connections.js";
import { credentialSourcesOfInit } from "./credentials.js";
import { eventResults, type EventDelivery } from "./events.js";

export type Extra = { connection: Connection };

export interface ProtocolOptions extends EventDelivery {
  readonly config: Config;
  readonly schema: import("graphql").GraphQLSchema;
  readonly registry: ConnectionRegistry;
  /** The shared credential check (`createCredentialCheck`). */
  readonly authenticate: (sources: CredentialSources) => Promise<AuthContext>;
  readonly startSubscription: ReturnType<typeof createSubscriptionStarter>;
  /** Whether anonymous connections can serve anything (`hasPublicSubscription`). */
  readonly anonymousUseful: boolean;
  readonly logger?: Logger;
}

/**
 * graphql-ws's protocol server with this product's steps: `connection_init` reads the credentials and runs the
 * shared credential check, then the connection caps; `subscribe` runs the shared subscription pipeline
 * (`createSubscriptionStarter`) and answers every refusal as an `error` message on that subscription's id.
 */
export function createProtocolServer(options: ProtocolOptions): Server<Extra> {
  const { config, registry, logger } = options;
  // A subscription's event stream, opened in onSubscribe (where a failure can still be answered as an error
  // message) and picked up by graphql-ws's subscribe step, keyed by the subscription's context.
  const streams = new WeakMap<object, { started: StartedSubscription; connection: Connection }>();
  return makeServer<Record<string, unknown> | undefined, Extra>({
    schema: options.schema,
    connectionInitWaitTimeout: config.ws.connectionInitTimeoutSeconds * 1000,
    onConnect: async (ctx) => {
      const { connection } = ctx.extra;
      const principal = await authenticate(options, connection, ctx.connectionParams);
      // graphql-ws keeps its context as long as the connection; the credentials in it are not needed any more.
      (ctx as { connectionParams?: unknown }).connectionParams = undefined;
      if (principal === undefined) return false;
      if (!principal && !options.anonymousUseful) {
        registry.closeWith(connection, WS_CLOSE.AUTHENTICATION_REQUIRED, {
          event: "ws.connection_refused",
          reason: "AUTHENTICATION_REQUIRED",
        });
        return false;
      }
      if (!registry.admit(connection, principal)) return false;
      logger?.info(
        { event: "ws.connected", connectionId: connection.id, sub: principal?.sub, kind: principal?.kind ?? "ANONYMOUS" },
        "websocket connection acknowledged",
      );
      return true;
    },
    onSubscribe: async (ctx, _id, payload) => {
      const { connection } = ctx.extra;
      const requestId = randomUUID();
      const operation = payload.operationName ?? undefined;
      if (registry.closeIfLapsed(connection)) return [new GraphQLError("The connection's token is no longer valid.")];
      const limit = config.ws.maxSubscriptionsPerConnection;
      if (Object.keys(ctx.subscriptions).length > limit) {
        const error = new GraphQLError(`Too many subscriptions on this connection (at most ${limit}); complete one first.`, {
          extensions: { code: SUBSCRIPTION_LIMIT },
        });
        return refuse(options, connection, requestId, operation, SUBSCRIPTION_LIMIT, [error], { limit });
      }
      const contextValue: AppContext = options.contextFor(connection, requestId, undefined);
      const outcome = await options.startSubscription(payload, connection.principal, contextValue);
      if ("errors" in outcome) {
        if (outcome.denial)
          return refuse(options, connection, requestId, operation, outcome.denial.reason, outcome.errors, {
            coordinates: outcome.denial.coordinates,
          });
        return clientErrors(options, outcome.errors, requestId, operation);
      }
      streams.set(contextValue, { started: outcome, connection });
      // graphql-ws keeps the subscribe message's payload as long as the subscription: its query text becomes the
      // one copy the document cache holds for every subscriber of that text.
      const body = outcome.args.document.loc?.source.body;
      if (body !== undefined && body === payload.query) (payload as { query: string }).query = body;
      return outcome.args;
    },
    subscribe: (args) => {
      const opened = streams.get(args.contextValue as object);
      streams.delete(args.contextValue as object);
      if (!opened) throw new Error("subscribe called without a stream opened by onSubscribe");
      // graphql-ws keeps these arguments as long as the subscription; the context of its start (its RequestAuth,
      // request id, loaders) is not needed once the stream is open: each event gets a context of its own.
      args.contextValue = undefined;
      return eventResults(options, opened.started.stream, args, opened.connection, opened.started.settleEvent);
    },
  });
}

/** The connection's principal (`null`: anonymous), or `undefined` when its credentials were refused (closed). */
async function authenticate(
  options: ProtocolOptions,
  connection: Connection,
  params: Record<string, unknown> | undefined,
): Promise<Principal | null | undefined> {
  let sources: CredentialSources;
  try {
    sources = credentialSourcesOfInit(connection.request!, params);
    connection.request = null;
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    options.registry.closeWith(connection, WS_CLOSE.BAD_REQUEST, { event: "ws.connection_refused", reason: "AUTHORIZATION_MALFORMED" });
    return undefined;
  }
  try {
    return (await options.authenticate(sources)).principal;
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    const reason = (error.extensions?.auth as { reason?: string } | undefined)?.reason ?? "ERROR";
    options.registry.closeWith(connection, closeFor(String(error.extensions?.code), reason), { event: "ws.connection_refused", reason });
    return undefined;
  }
}

/** The close code of a refused `connection_init`, from the error table's code. */
function closeFor(code: string, reason: string): { code: number; reason: string } {
  if (code === "BAD_REQUEST") return WS_CLOSE.BAD_REQUEST;
  if (code === "AUTH_UNAVAILABLE") return WS_CLOSE.AUTH_UNAVAILABLE;
  if (code === "UNAUTHENTICATED") return { code: WS_CLOSE.UNAUTHORIZED.code, reason: `${WS_CLOSE.UNAUTHORIZED.reason}: ${reason}` };
  return WS_CLOSE.INTERNAL;
}

function refuse(
  options: ProtocolOptions,
  connection: Connection,
  requestId: string,
  operation: string | undefined,
  reason: string,
  errors: readonly GraphQLError[],
  extra: Record<string, unknown>,
) {
  options.logger?.info(
    {
      event: "ws.subscription_refused",
      requestId,
      connectionId: connection.id,
      operation,
      sub: connection.principal?.sub,
      reason,
      ...extra,
    },
    "subscription refused",
  );
  return clientErrors(options, errors, requestId, operation);
}

/**
 * Errors as the client receives them, rebuilt as GraphQLErrors (graphql-ws sends `error` messages from those):
 * the shared client form (`formatError`, production redaction), no `extensions.http`, no stack; unexpected ones
 * logged once with the request id, which the client gets to quote.
 */
function clientErrors(options: ProtocolOptions, errors: readonly GraphQLError[], requestId: string, operation?: string): GraphQLError[] {
  logErrors(options.logger, errors, requestId, operation);
  return errors.map((error) => {
    const { http: _http, stacktrace: _stacktrace, ...extensions } = (error.extensions ?? {}) as Record<string, unknown>;
    // As Apollo does: an error without a code is an internal one (which production redacts).
    extensions.code ??= "INTERNAL_SERVER_ERROR";
    let formatted: GraphQLFormattedError = formatError({ ...error.toJSON(), extensions }, error, options.config.production);
    if (formatted.extensions?.code === "INTERNAL_SERVER_ERROR")
      formatted = { ...formatted, extensions: { ...formatted.extensions, requestId } };
    return new GraphQLError(formatted.message, { path: formatted.path, extensions: formatted.extensions });
  });
}
