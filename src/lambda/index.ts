/** The Lambda transport: API Gateway and ALB events adapted to the shared Apollo server and context factory. */
import { handlers, startServerAndCreateLambdaHandler } from "@as-integrations/aws-lambda";
import type { ALBEvent, ALBResult, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { createApp, type App } from "../app.js";
import { loadConfig } from "../config.js";
import { withDatabaseSecret } from "../data/database-secret.js";
import { DEV_TOKEN_PATH } from "../http/dev-token.js";
import { createLogger, logDestination } from "../logger.js";
import { sourcesOfAlbEvent, sourcesOfHttpApiEvent } from "./events.js";

export { sourcesOfAlbEvent, sourcesOfHttpApiEvent } from "./events.js";

/**
 * The Lambda handlers learn revocations without notifications (an instance is frozen between invocations): an
 * invocation reloads them first when the last reload is older than this (milliseconds), so a revoked token is
 * refused by every instance within about a second, at the cost of at most one index lookup per second per instance
 * (plus the records added since). An instance that cannot reload for three REVOCATION_RELOAD_SECONDS answers 503.
 */
export const LAMBDA_REVOCATION_MAX_AGE_MS = 1000;

/**
 * AWS Lambda entry points sharing the HTTP server's schema, context and auth:
 *   `handler`     API Gateway HTTP API (payload format 2.0)
 *   `albHandler`  Application Load Balancer (single-value headers, the default)
 * The application (`createApp`: configuration, the key sets hydrated, the database) is made once per cold start
 * and reused by every invocation of the same instance. Logs go to stdout, which Lambda sends to CloudWatch;
 * metrics are CloudWatch's, so none here; no notifications (an instance is frozen between invocations).
 */
async function setUp(): Promise<App> {
  const config = await withDatabaseSecret(loadConfig());
  // Synchronous writes: Lambda freezes the process once the answer is returned, and a line still being written
  // asynchronously would wait for the next invocation, or be lost.
  const logger = createLogger(config.production, config.logLevel, logDestination(1, true));
  return createApp(config, { logger, metrics: false, notifications: false, database: { poolSize: 2 } });
}

type Deps = App;

// Set-up starts at import (during the cold start's init phase, which Lambda does not bill the same way). If it
// fails (the database or the key set unreachable at that moment), the invocation reports the error and the next
// invocation tries again, instead of the instance failing every request until it is recycled.
let instance: Promise<Deps> = start();
let failed = false;

function start(): Promise<Deps> {
  const started = setUp();
  started.catch(() => {
    if (instance === started) failed = true;
  });
  return started;
}

function currentInstance(): Promise<Deps> {
  if (failed) {
    failed = false;
    instance = start();
  }
  return instance;
}

/** This instance's set-up (configuration, database, dev issuer), made once per cold start; tests read it. */
export function lambdaInstance(): Promise<Deps> {
  return currentInstance();
}

/**
 * An Apollo Server starts once, so each event shape gets its own (a function normally serves just one), made
 * on its first invocation (again on the next one if making it failed).
 */
function lazyHandler<T>(create: (deps: Deps, apollo: Parameters<typeof startServerAndCreateLambdaHandler>[0]) => T): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    (made ??= currentInstance()
      .then((deps) =>
        // The integration is CommonJS and types Apollo with its CommonJS declarations; at run time it is this instance.
        create(deps, deps.apollo("lambda") as unknown as Parameters<typeof startServerAndCreateLambdaHandler>[0]),
      )
      .catch((error: unknown) => {
        made = undefined;
        throw error;
      }));
}

const httpApi = lazyHandler((deps, apollo) => {
  return startServerAndCreateLambdaHandler(apollo, handlers.createAPIGatewayProxyEventV2RequestHandler(), {
    context: async ({ event }) => {
      await deps.revocation?.refreshOrRefuse(LAMBDA_REVOCATION_MAX_AGE_MS);
      return deps.contextFor(sourcesOfHttpApiEvent(event));
    },
    middleware: [async (event) => (isDevTokenPath(event.rawPath) ? DEV_TOKEN_NOT_FOUND : undefined)],
  });
});

const alb = lazyHandler((deps, apollo) => {
  return startServerAndCreateLambdaHandler(apollo, handlers.createALBEventRequestHandler(), {
    context: async ({ event }) => {
      await deps.revocation?.refreshOrRefuse(LAMBDA_REVOCATION_MAX_AGE_MS);
      return deps.contextFor(sourcesOfAlbEvent(event));
    },
    middleware: [async (event) => (isDevTokenPath(event.path) ? DEV_TOKEN_NOT_FOUND : undefined)],
  });
});

/**
 * The dev token endpoint of the HTTP server is never served here, in any mode: a Lambda answers every other path
 * with GraphQL, so this one is refused by name (after any stage prefix) rather than answered with a GraphQL error.
 */
const isDevTokenPath = (path: string | undefined) => path?.endsWith(DEV_TOKEN_PATH) === true;
const DEV_TOKEN_NOT_FOUND = {
  statusCode: 404,
  headers: { "content-type": "application/json; charset=utf-8" },
  body: JSON.stringify({ errors: [{ message: "Not found. The API is at /graphql." }] }),
};

// Lambda calls handlers with a callback as third argument; these handlers are async and never use it.
const noCallback = () => undefined;

export async function handler(event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
  return (await (
    await httpApi()
  )(event, context, noCallback)) as APIGatewayProxyStructuredResultV2;
}

export async function albHandler(event: ALBEvent, context: Context): Promise<ALBResult> {
  return (await (
    await alb()
  )(event, context, noCallback)) as ALBResult;
}
