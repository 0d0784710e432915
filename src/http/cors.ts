import type { IncomingMessage, ServerResponse } from "node:http";
import cors from "cors";
import { isOriginAllowed } from "../graphql/origins.js";

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

export type CorsMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * CORS for browser clients, with the `cors` package: an allowed origin (or any, with `*`) gets
 * `Access-Control-Allow-Origin`, and a preflight also the methods, `CORS_ALLOWED_HEADERS` and a 600 s max age
 * (answered 204 by `cors`); any other origin gets no CORS headers at all, so the browser refuses the response.
 * No `Access-Control-Allow-Credentials`: bearer tokens are sent explicitly, never by the browser on its own.
 * `undefined` when no origin is allowed.
 */
export function corsMiddlewareFor(origins: "*" | readonly string[]): CorsMiddleware | undefined {
  if (origins !== "*" && origins.length === 0) return undefined;
  return cors({
    // A listed origin is reflected; any other gets `false`, for which `cors` sets no header at all.
    origin:
      origins === "*"
        ? "*"
        : (origin, callback) => callback(null, origin !== undefined && isOriginAllowed(origins, origin) ? origin : false),
    methods: "GET, POST, OPTIONS",
    allowedHeaders: CORS_ALLOWED_HEADERS.join(", "),
    exposedHeaders: CORS_EXPOSED_HEADERS.join(", "),
    maxAge: 600,
    credentials: false,
  }) as CorsMiddleware;
}

/** Runs the (synchronous) CORS middleware; true when it answered the request itself (an allowed preflight). */
export function applyCors(
  middleware: CorsMiddleware,
  origins: "*" | readonly string[],
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
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
export function removeCorsHeaders(res: ServerResponse): void {
  for (const name of res.getHeaderNames()) if (name.startsWith("access-control-")) res.removeHeader(name);
}
