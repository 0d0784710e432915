import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest } from "@apollo/server";
import cors from "cors";

/** Requests larger than this are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;
export const GRAPHQL_PATH = "/graphql";
/** Dev mode only: mints dev tokens for frontends and end-to-end tests (`HttpHandlerOptions.devToken`). */
export const DEV_TOKEN_PATH = "/dev/token";
// An incoming x-request-id is kept when it is a plausible id, so logs line up across services.
const REQUEST_ID = /^[\w.:-]{1,128}$/;

// Apollo hands plugins the very HTTPGraphQLRequest object built here, so per-request facts travel on it without
// widening the GraphQL context: the request id (for log lines written inside Apollo) and the operation name that
// Apollo resolved from the document (for the request line when the body names none).
const requestIds = new WeakMap<object, string>();
const resolvedOperationNames = new WeakMap<object, string>();

/** The request id of a request served by this handler (`undefined` elsewhere, e.g. on Lambda). */
export function requestIdOf(http: object | undefined): string | undefined {
  return http ? requestIds.get(http) : undefined;
}

/** Records the operation name Apollo resolved from the document; the request line uses it. */
export function noteOperationName(http: object | undefined, name: string | null | undefined): void {
  if (http && name) resolvedOperationNames.set(http, name);
}

/** What `/readyz` reports: ready only when every check passes. */
export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
}

/** One answered request, for the request log and metrics. */
export interface Exchange<TContext> {
  /** Present on `/graphql` (echoed as `x-request-id`). */
  readonly requestId: string | undefined;
  readonly method: string;
  /** The URL path, without the query string. */
  readonly path: string;
  /** The operation name the client sent, or else the one its document names; `undefined` off `/graphql`. */
  readonly operationName: string | undefined;
  readonly status: number;
  readonly durationMs: number;
  /** Absent when the request failed before its context was built (e.g. a refused token). */
  readonly context: TContext | undefined;
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
  readonly devToken?: (body: unknown) => { readonly status: number; readonly body: unknown };
  /** Load shedding (src/http-shed.ts): admits a `/graphql` request or answers it 503 itself. Absent: all admitted. */
  readonly admit?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/**
 * A small Node `http` integration for Apollo Server: `/graphql` goes to Apollo, `/healthz`, `/readyz` and
 * `/metrics` answer operators, `/` leads to `/graphql`, everything else is 404.
 */
export function createHttpHandler<TContext extends BaseContext>(options: HttpHandlerOptions<TContext>) {
  const { apollo } = options;
  const corsOrigins = options.corsOrigins ?? [];
  const corsMiddleware = corsMiddlewareFor(corsOrigins);
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== GRAPHQL_PATH) {
      // /graphql reports its own exchange (with the operation and the caller); every other path is reported here.
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
      if (path === DEV_TOKEN_PATH && options.devToken) return await handleDevToken(req, res, options.devToken, options.corsOrigins ?? []);
      if (path !== GRAPHQL_PATH) return sendJson(res, 404, { errors: [{ message: "Not found. The API is at /graphql." }] });
      if (corsMiddleware && applyCors(corsMiddleware, corsOrigins, req, res)) return;
      if (req.method === "OPTIONS") {
        res.writeHead(204).end();
        return;
      }
      if (options.admit && !options.admit(req, res)) return;
      await handleGraphQL(req, res, path, url.slice(q === -1 ? url.length : q + 1));
    } catch (error) {
      // Apollo answers request errors itself; reaching here is a bug or a broken connection.
      if (!res.headersSent) sendError(res, 500, "Internal server error.");
      else res.destroy(error as Error);
    }
  };

  async function handleGraphQL(req: IncomingMessage, res: ServerResponse, path: string, search: string): Promise<void> {
    const started = performance.now();
    const incomingId = req.headers["x-request-id"];
    const requestId = typeof incomingId === "string" && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
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
        operationName: operationName ?? (request && resolvedOperationNames.get(request)),
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
    requestIds.set(request, requestId);
    const response = await apollo.executeHTTPGraphQLRequest({
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
}

/**
 * `POST /dev/token` with a JSON body. Browsers get CORS headers only for origins listed exactly in CORS_ORIGINS,
 * never through `*`: otherwise any page the developer visits could mint tokens for the local API and use them.
 * Requiring JSON also means a browser must ask first (preflight) before it can send one.
 */
async function handleDevToken(
  req: IncomingMessage,
  res: ServerResponse,
  mint: NonNullable<HttpHandlerOptions<BaseContext>["devToken"]>,
  origins: "*" | readonly string[],
): Promise<void> {
  const origin = req.headers.origin;
  res.setHeader("vary", "Origin");
  if (origins !== "*" && origin !== undefined && origins.includes(origin)) {
    res.setHeader("access-control-allow-origin", origin);
    if (req.method === "OPTIONS") {
      res.setHeader("access-control-allow-methods", "POST, OPTIONS");
      res.setHeader("access-control-allow-headers", "content-type");
      res.setHeader("access-control-max-age", "600");
    }
  }
  if (req.method === "OPTIONS") {
    res.writeHead(204).end();
    return;
  }
  if (req.method !== "POST") {
    res.setHeader("allow", "POST, OPTIONS");
    return sendJson(res, 405, { error: "Use POST with a JSON body, e.g. {\"persona\":\"alice\"}." });
  }
  if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json")) {
    return sendJson(res, 415, { error: "The body must be JSON (content-type: application/json)." });
  }
  const body = await readBody(req);
  if (body === TOO_LARGE) return sendJson(res, 413, { error: "The request body is too large." });
  let parsed: unknown;
  try {
    parsed = body === "" ? {} : JSON.parse(body);
  } catch {
    return sendJson(res, 400, { error: "The request body is not valid JSON." });
  }
  const answer = mint(parsed);
  sendJson(res, answer.status, answer.body);
}

/**
 * The request headers a browser client may send to `/graphql` (the preflight's `Access-Control-Allow-Headers`):
 * the bearer token and JSON, Apollo's CSRF-prevention and operation-name headers, Apollo Client's client
 * awareness headers, and `x-request-id` (kept and echoed, so a browser app can line its logs up with ours).
 * An explicit list: reflecting whatever a preflight asks for would allow headers nobody decided on.
 */
export const CORS_ALLOWED_HEADERS: readonly string[] = [
  "authorization",
  "content-type",
  "apollo-require-preflight",
  "x-apollo-operation-name",
  "apollographql-client-name",
  "apollographql-client-version",
  "x-request-id",
];
// Beyond the CORS-safelisted headers, a browser client needs to read why it was refused and when to retry.
const CORS_EXPOSED_HEADERS = ["www-authenticate", "retry-after", "x-request-id"];

type CorsMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * CORS for browser clients, with the `cors` package: an allowed origin (or any, with `*`) gets
 * `Access-Control-Allow-Origin`, and a preflight also the methods, `CORS_ALLOWED_HEADERS` and a 600 s max age
 * (answered 204 by `cors`); any other origin gets no CORS headers at all, so the browser refuses the response.
 * No `Access-Control-Allow-Credentials`: bearer tokens are sent explicitly, never by the browser on its own.
 * `undefined` when no origin is allowed.
 */
function corsMiddlewareFor(origins: "*" | readonly string[]): CorsMiddleware | undefined {
  if (origins !== "*" && origins.length === 0) return undefined;
  return cors({
    // A listed origin is reflected; any other gets `false`, for which `cors` sets no header at all.
    origin: origins === "*" ? "*" : (origin, callback) => callback(null, origin !== undefined && origins.includes(origin) ? origin : false),
    methods: "GET, POST, OPTIONS",
    allowedHeaders: CORS_ALLOWED_HEADERS.join(", "),
    exposedHeaders: CORS_EXPOSED_HEADERS.join(", "),
    maxAge: 600,
    credentials: false,
  }) as CorsMiddleware;
}

/** Runs the (synchronous) CORS middleware; true when it answered the request itself (an allowed preflight). */
function applyCors(middleware: CorsMiddleware, origins: "*" | readonly string[], req: IncomingMessage, res: ServerResponse): boolean {
  // Caches must not hand one origin's answer to another, refused origins' answers included.
  if (origins !== "*") res.setHeader("vary", "Origin");
  let passed = false;
  middleware(req, res, (error) => {
    if (error) throw error;
    passed = true;
  });
  return !passed;
}

/**
 * The landing page (Apollo Sandbox, which in dev mode embeds a live token) is never readable by another
 * origin's script: whatever CORS allows for API calls is taken off an HTML answer.
 */
function removeCorsHeaders(res: ServerResponse): void {
  for (const name of res.getHeaderNames()) if (name.startsWith("access-control-")) res.removeHeader(name);
}

/**
 * The handler of the metrics listener (`METRICS_PORT`): `GET /metrics` answers the Prometheus exposition,
 * anything else 404. It serves nothing of the API, so the port can stay inside the network.
 */
export function createMetricsHandler(metrics: () => Promise<{ contentType: string; body: string }>) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    try {
      if ((q === -1 ? url : url.slice(0, q)) !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
        return sendJson(res, 404, { errors: [{ message: "Not found. Metrics are at /metrics." }] });
      }
      const { contentType, body } = await metrics();
      res.writeHead(200, { "content-type": contentType }).end(body);
    } catch {
      if (!res.headersSent) sendError(res, 500, "Internal server error.");
    }
  };
}

const setHeader = Map.prototype.set as (this: HeaderMap, name: string, value: string) => HeaderMap;

const TOO_LARGE = Symbol("too large");

// Events rather than an async iterator: this runs on every request, and the iterator costs more.
function readBody(req: IncomingMessage): Promise<string | typeof TOO_LARGE> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        req.resume();
        resolve(TOO_LARGE);
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_BODY_BYTES ? TOO_LARGE : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(value));
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { errors: [{ message, extensions: { code: status === 413 ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST" } }] });
}
