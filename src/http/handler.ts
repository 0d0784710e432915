import type { IncomingMessage, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest } from "@apollo/server";
import { noteRequestId, requestIdFrom, resolvedOperationName } from "../graphql/request-id.js";
import { GRAPHQL_PATH, type Exchange } from "../graphql/request-log.js";
import { applyCors, corsMiddlewareFor, removeCorsHeaders } from "./cors.js";
import { DEV_TOKEN_PATH, handleDevToken, type DevTokenMint } from "./dev-token.js";
import { readBody, sendError, sendJson, TOO_LARGE } from "./respond.js";
import { notFoundMessage } from "../setting-hints.js";

/** What `/readyz` reports: ready only when every check passes. */
export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
}

export interface HttpHandlerOptions<TContext extends BaseContext> {
  readonly apollo: ApolloServer<TContext>;
  /** Builds the GraphQL context of one request; may throw a GraphQLError carrying `extensions.http`. */
  readonly context: (req: IncomingMessage, requestId: string) => Promise<TContext>;
  /** Whether the server can take traffic (`/readyz`). */
  readonly readiness: () => Promise<Readiness>;
  /** Prometheus exposition for `/metrics`. */
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Called once per answered request, on every path. */
  readonly onExchange?: (exchange: Exchange<TContext>) => void;
  /** Browser origins allowed to call `/graphql` (`Config.corsOrigins`): exact origins or `*`. Default: none. */
  readonly corsOrigins?: "*" | readonly string[];
  /**
   * Dev mode only: serves `POST /dev/token` with this function (the parsed JSON body in, status and JSON out).
   * Absent: the path does not exist (404).
   */
  readonly devToken?: DevTokenMint;
  /** Load shedding (src/http/shed.ts): admits a `/graphql` request or answers it 503 itself. Absent: all admitted. */
  readonly admit?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/**
 * A small Node `http` integration for Apollo Server: `/graphql` goes to Apollo, `/healthz`, `/readyz` and
 * `/metrics` answer operators, `/` leads to `/graphql`, everything else is 404.
 */
export function createHttpHandler<TContext extends BaseContext>(options: HttpHandlerOptions<TContext>) {
  const corsOrigins = options.corsOrigins ?? [];
  const corsMiddleware = corsMiddlewareFor(corsOrigins);
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    // /graphql reports its own exchange (with the operation and the caller); every other path is reported here.
    if (path !== GRAPHQL_PATH) reportOnFinish(options, req, res, path);
    try {
      if (path === "/healthz") return sendJson(res, 200, { status: "ok" });
      if (path === "/readyz") {
        const readiness = await options.readiness();
        return sendJson(res, readiness.ready ? 200 : 503, { status: readiness.ready ? "ready" : "not ready", checks: readiness.checks });
      }
      if (path === "/metrics" && options.metrics) {
        const { contentType, body } = await options.metrics();
        res.writeHead(200, { "content-type": contentType }).end(body);
        return;
      }
      if (path === "/") {
        res.writeHead(302, { location: GRAPHQL_PATH }).end();
        return;
      }
      if (path === DEV_TOKEN_PATH && options.devToken) return await handleDevToken(req, res, options.devToken, corsOrigins);
      if (path !== GRAPHQL_PATH) {
        const message = notFoundMessage(path, { metricsElsewhere: !options.metrics, devTokenAbsent: !options.devToken });
        return sendJson(res, 404, { errors: [{ message }] });
      }
      if (corsMiddleware && applyCors(corsMiddleware, corsOrigins, req, res)) return;
      if (req.method === "OPTIONS") {
        res.writeHead(204).end();
        return;
      }
      if (options.admit && !options.admit(req, res)) return;
      await handleGraphQL(options, req, res, path, url.slice(q === -1 ? url.length : q + 1));
    } catch (error) {
      // Apollo answers request errors itself; reaching here is a bug or a broken connection.
      if (!res.headersSent) sendError(res, 500, "Internal server error.");
      else res.destroy(error as Error);
    }
  };
}

/** Reports an answered request off `/graphql` (probes, scrapes, 404s) once its answer is sent. */
function reportOnFinish<TContext extends BaseContext>(
  options: HttpHandlerOptions<TContext>,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): void {
  const started = performance.now();
  res.once("finish", () =>
    options.onExchange?.({
      requestId: undefined,
      method: req.method ?? "GET",
      path,
      operationName: undefined,
      status: res.statusCode,
      durationMs: performance.now() - started,
      context: undefined,
    }),
  );
}

/** One GraphQL request: request id, body (size limit, JSON), Apollo, the answer, then the exchange report. */
async function handleGraphQL<TContext extends BaseContext>(
  options: HttpHandlerOptions<TContext>,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  search: string,
): Promise<void> {
  const started = performance.now();
  const requestId = requestIdFrom(req.headers["x-request-id"]);
  res.setHeader("x-request-id", requestId);
  let context: TContext | undefined;
  let operationName: string | undefined;
  let request: HTTPGraphQLRequest | undefined;
  const method = (req.method ?? "GET").toUpperCase();
  const finish = (status: number) =>
    options.onExchange?.({
      requestId,
      method,
      path,
      operationName: operationName ?? resolvedOperationName(request),
      status,
      durationMs: performance.now() - started,
      context,
    });

  const body = await readBody(req);
  if (body === TOO_LARGE) {
    sendError(res, 413, "The request body is too large.");
    return finish(413);
  }
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    // Node gives header names in lower case already: Map's own set skips HeaderMap's toLowerCase of each name.
    if (value !== undefined) setHeader.call(headers, name, Array.isArray(value) ? value.join(", ") : value);
  }
  let parsed: unknown = body;
  if (body !== "" && (req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json")) {
    try {
      parsed = JSON.parse(body);
    } catch {
      sendError(res, 400, "The request body is not valid JSON.");
      return finish(400);
    }
  }
  const name = (parsed as { operationName?: unknown } | null)?.operationName;
  operationName = typeof name === "string" ? name : (new URLSearchParams(search).get("operationName") ?? undefined);
  request = { method, headers, search, body: parsed };
  noteRequestId(request, requestId);
  const response = await options.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: request,
    context: async () => (context = await options.context(req, requestId)),
  });
  for (const [header, value] of response.headers) res.setHeader(header, value);
  if (response.headers.get("content-type")?.startsWith("text/html")) removeCorsHeaders(res);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === "complete") {
    res.end(response.body.string);
  } else {
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }
  finish(res.statusCode);
}

// Map's own set, taken once and always called on a HeaderMap with `.call`. Looking Map.prototype.set up at each
// header instead measured 25,000 more instructions per `me` request (docs/performance.md, #23).
// oxlint-disable-next-line typescript/unbound-method
const setHeader = Map.prototype.set as (this: HeaderMap, name: string, value: string) => HeaderMap;
