import {
  createSourceEventStream,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  SingleFieldSubscriptionsRule,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type ValidationRule,
} from "graphql";
import { findDenials, guardOf, type Principal } from "../auth/index.js";
import { operationDenied } from "../auth/errors.js";
import { createHash } from "node:crypto";
import type { Config } from "../config.js";
import type { AppContext } from "./context.js";
import { subscriptionRecords, type DecisionAudit, type SubscriptionSettle } from "./decision-records.js";
import { createDocumentCache } from "./document-cache.js";
import { operationLimits } from "./limits.js";
import { SafeSingleFieldSubscriptionsRule } from "./subscription-root.js";

/** A subscription ready to run: its execution arguments and its opened source stream. */
export interface StartedSubscription {
  readonly args: ExecutionArgs;
  readonly stream: AsyncIterableIterator<unknown>;
  /** Settles each event's execution for this subscriber: shadow denials counted, a decision record when AUTH_AUDIT asks. */
  readonly settleEvent?: SubscriptionSettle;
}

/** A subscription refused before it started: the errors for the client, and for a denial, the audit facts. */
export interface RefusedSubscription {
  readonly errors: readonly GraphQLError[];
  readonly denial?: { readonly reason: string; readonly coordinates: readonly string[] };
}

/** What the client sent in `subscribe`. */
export interface SubscribePayload {
  readonly query: string;
  readonly operationName?: string | null;
  readonly variables?: Record<string, unknown> | null;
}

/**
 * The request pipeline of a subscription over WebSocket, the same steps and rules as Apollo's for HTTP: parse
 * (token limit), validate (graphql-js's rules with a safe single-root-field rule, and the operation limits), pick
 * the operation (subscriptions only), the whole-operation `@auth` check (a subscription with any denied field is
 * refused whole, as a mutation is), then open the root field's event stream. Every refusal is a value, never a
 * throw: the transport sends it as an `error` message on that subscription's id.
 */
export function createSubscriptionStarter(schema: GraphQLSchema, config: Config, audit?: DecisionAudit) {
  const rules: ValidationRule[] = [
    ...specifiedRules.map((rule) => (rule === SingleFieldSubscriptionsRule ? SafeSingleFieldSubscriptionsRule : rule)),
    ...operationLimits(config).validationRules,
  ];
  const posture = { explain: !config.production };
  // One parsed document per distinct subscription text, shared by its subscribers (idle heap, issue #24).
  const parseDocument = createDocumentCache(config.limits.tokens);
  const hashOf = documentHasher();
  // The rules read the schema and the document only (no variables): each parsed document is validated once, not
  // once per subscriber (a reconnecting crowd resubscribes with the same few documents).
  const validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  return async function start(
    payload: SubscribePayload,
    principal: Principal | null,
    contextValue: AppContext,
  ): Promise<StartedSubscription | RefusedSubscription> {
    let document: DocumentNode;
    try {
      document = parseDocument(payload.query);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      return { errors: [withCode(error, "GRAPHQL_PARSE_FAILED")] };
    }
    let invalid = validated.get(document);
    if (!invalid) validated.set(document, (invalid = validate(schema, document, rules)));
    if (invalid.length > 0) return { errors: invalid.map((e) => withCode(e, "GRAPHQL_VALIDATION_FAILED")) };
    const definition = getOperationAST(document, payload.operationName);
    if (!definition)
      return {
        errors: [withCode(new GraphQLError("The document has no operation of that name, or several and no operationName."), "BAD_REQUEST")],
      };
    if (definition.operation !== "subscription") {
      return {
        errors: [
          withCode(
            new GraphQLError("Only subscriptions are served over WebSocket; send queries and mutations with HTTP POST to /graphql."),
            "BAD_REQUEST",
          ),
        ],
      };
    }
    // Variables are coerced first, as Apollo does over HTTP: a bad value is the client's error (BAD_USER_INPUT).
    const coerced = getVariableValues(schema, definition.variableDefinitions ?? [], payload.variables ?? {});
    if (coerced.errors) return { errors: coerced.errors.map((e) => withCode(e, "BAD_USER_INPUT")) };
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
    const auth = contextValue.auth;
    const denials = findDenials(schema, definition, fragments, payload.variables ?? {}, auth);
    const records =
      audit &&
      subscriptionRecords(audit, {
        operation: payload.operationName ?? definition.name?.value,
        documentHash: hashOf(document, payload.query),
        startRequestId: contextValue.requestId,
      });
    if (denials.length > 0) {
      auth.noteDenials(denials);
      records?.start(auth, contextValue.requestId);
      return {
        errors: [operationDenied(principal === null, denials, posture)],
        denial: {
          reason: principal === null ? "AUTHENTICATION_REQUIRED" : "INSUFFICIENT_PERMISSION",
          coordinates: denials.map((d) => d.coordinate),
        },
      };
    }
    const args: ExecutionArgs = { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
    const stream = await createSourceEventStream(args);
    records?.start(auth, contextValue.requestId);
    if (!isAsyncIterator(stream))
      return { errors: (stream as ExecutionResult).errors ?? [new GraphQLError("The subscription could not be started.")] };
    return { args, stream, settleEvent: records?.event };
  };
}

const isAsyncIterator = (value: unknown): value is AsyncIterableIterator<unknown> =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as AsyncIterator<unknown>).next === "function" &&
  Symbol.asyncIterator in value;

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

/**
 * Whether an anonymous caller could subscribe to anything: some Subscription field has no `@auth` rule (it is
 * `@public`, or the schema carries no rules at all). Without one, an anonymous WebSocket can serve nothing.
 */
export function hasPublicSubscription(schema: GraphQLSchema): boolean {
  const fields = Object.values(schema.getSubscriptionType()?.getFields() ?? {});
  return fields.some((field) => !guardOf(field)?.authenticated);
}

/** Decision records name the document by its SHA-256, as Apollo's queryHash does over HTTP: once per parsed document. */
function documentHasher(): (document: DocumentNode, text: string) => string {
  const hashes = new WeakMap<DocumentNode, string>();
  return (document, text) => {
    let hash = hashes.get(document);
    if (hash === undefined) hashes.set(document, (hash = createHash("sha256").update(text).digest("hex")));
    return hash;
  };
}
