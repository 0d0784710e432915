/** The HTTP transport: a thin Node `http` adapter that reads the request, hands it to Apollo and writes the answer. */
export { CORS_ALLOWED_HEADERS } from "./cors.js";
export { DEV_TOKEN_PATH } from "./dev-token.js";
export { createHttpHandler, type HttpHandlerOptions, type Readiness } from "./handler.js";
export { createMetricsHandler } from "./metrics-listener.js";
export { MAX_BODY_BYTES } from "./respond.js";
export { ABORT_GRACE_MS, startHttpServer, type Attachment, type RunningServer } from "./server.js";
