import { randomUUID } from "node:crypto";

/**
 * Per-request facts that travel on the request object Apollo hands to plugins (`requestContext.request.http`),
 * without widening the GraphQL context: the request id (for log lines written inside Apollo) and the operation
 * name Apollo resolved from the document (for the request line when the body names none). A transport records
 * them; the graphql layer reads them, and never imports the transport.
 */
const requestIds = new WeakMap<object, string>();
const resolvedOperationNames = new WeakMap<object, string>();

// An incoming x-request-id is kept when it is a plausible id, so logs line up across services.
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The request id to use: the client's `x-request-id` when it is a plausible id, else a new UUID. */
export function requestIdFrom(incoming: unknown): string {
  return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** Ties `requestId` to the request object `http` (the transport's `HTTPGraphQLRequest`). */
export function noteRequestId(http: object, requestId: string): void {
  requestIds.set(http, requestId);
}

/** The request id of a request whose transport recorded one (`undefined` otherwise, e.g. on Lambda). */
export function requestIdOf(http: object | undefined): string | undefined {
  return http ? requestIds.get(http) : undefined;
}

/** Records the operation name Apollo resolved from the document; the request line uses it. */
export function noteOperationName(http: object | undefined, name: string | null | undefined): void {
  if (http && name) resolvedOperationNames.set(http, name);
}

/** The operation name recorded by `noteOperationName`, if any. */
export function resolvedOperationName(http: object | undefined): string | undefined {
  return http ? resolvedOperationNames.get(http) : undefined;
}
