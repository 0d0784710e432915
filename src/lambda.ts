import { handlers, startServerAndCreateLambdaHandler } from "@as-integrations/aws-lambda";
import type { ALBEvent, ALBResult, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { CredentialSources } from "./auth/index.js";
import { setUpAuth } from "./auth-setup.js";
import { loadConfig } from "./config.js";
import { openDatabase, pgliteDirOf } from "./data/database.js";
import { withDatabaseSecret } from "./data/database-secret.js";
import { seedDevData } from "./dev/seed.js";
import { buildSchema } from "./graphql/schema.js";
import { DEV_TOKEN_PATH } from "./http.js";
import { createLogger } from "./logger.js";
import { createApolloServer, createContextFactory } from "./server.js";
import { setUpRevocation } from "./revocations/setup.js";

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
 * Configuration, the key sets (hydrated) and the database are set up once per cold start and reused by every
 * invocation of the same instance.
 */
async function setUp() {
  const config = await withDatabaseSecret(loadConfig());
  // Logs go to stdout, which Lambda sends to CloudWatch; metrics are CloudWatch's, so none here.
  const logger = createLogger(config.production, config.logLevel);
  const { verifier, devIssuer, emailLookup } = setUpAuth(config);
  // The key-set fetch and the database's connection and migration check wait on the network: both run at once,
  // and the schema is built while they wait.
  const hydrated = verifier.hydrate();
  const opened = openDatabase({
    url: config.databaseUrl,
    pgliteDir: pgliteDirOf(config.dataDir),
    poolSize: 2,
    connectTimeoutMs: config.bounds.poolTimeoutMs,
    statementTimeoutMs: config.bounds.statementTimeoutMs,
    idleInTransactionTimeoutMs: config.bounds.idleInTransactionTimeoutMs,
    onConnectionError: (error, state) =>
      logger.warn({ event: "db.connection_lost", state, err: { type: error.name, message: error.message } }, "database connection lost; it is replaced on next use"),
  });
  const schema = new Promise<void>((resolve) => setImmediate(resolve)).then(() => buildSchema());
  const [keys, database, built] = await Promise.allSettled([hydrated, opened, schema]);
  const failure = [keys, database, built].find((result) => result.status === "rejected");
  if (failure || database.status !== "fulfilled" || built.status !== "fulfilled") {
    // The next invocation starts over: this attempt's pool must not stay open beside the next one's.
    if (database.status === "fulfilled") await database.value.close();
    throw (failure as PromiseRejectedResult).reason;
  }
  const db = database.value.db;
  let revocation;
  try {
    if (config.mode === "dev") await seedDevData(db);
    revocation = await setUpRevocation(config, database.value, { logger, listen: false });
  } catch (error) {
    await database.value.close();
    throw error;
  }
  return { config, schema: built.value, verifier, database: database.value, db, devIssuer, emailLookup, logger, revocation, revocations: revocation.list, revoker: revocation.revoker };
}

type Deps = Awaited<ReturnType<typeof setUp>>;

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
        create(deps, createApolloServer(deps, "lambda") as unknown as Parameters<typeof startServerAndCreateLambdaHandler>[0]),
      )
      .catch((error: unknown) => {
        made = undefined;
        throw error;
      }));
}

const httpApi = lazyHandler((deps, apollo) => {
  const contextFor = createContextFactory(deps);
  return startServerAndCreateLambdaHandler(apollo, handlers.createAPIGatewayProxyEventV2RequestHandler(), {
    context: async ({ event }) => {
      await deps.revocation.refreshOrRefuse(LAMBDA_REVOCATION_MAX_AGE_MS);
      return contextFor(sourcesOfHttpApiEvent(event));
    },
    middleware: [async (event) => (isDevTokenPath(event.rawPath) ? DEV_TOKEN_NOT_FOUND : undefined)],
  });
});

const alb = lazyHandler((deps, apollo) => {
  const contextFor = createContextFactory(deps);
  return startServerAndCreateLambdaHandler(apollo, handlers.createALBEventRequestHandler(), {
    context: async ({ event }) => {
      await deps.revocation.refreshOrRefuse(LAMBDA_REVOCATION_MAX_AGE_MS);
      return contextFor(sourcesOfAlbEvent(event));
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
  return (await (await httpApi())(event, context, noCallback)) as APIGatewayProxyStructuredResultV2;
}

export async function albHandler(event: ALBEvent, context: Context): Promise<ALBResult> {
  return (await (await alb())(event, context, noCallback)) as ALBResult;
}

/**
 * API Gateway joins repeated headers with commas (`Bearer a,Bearer b`), which the bearer grammar refuses as
 * malformed; cookies arrive in their own list.
 */
export function sourcesOfHttpApiEvent(event: APIGatewayProxyEventV2): CredentialSources {
  const authorization = headerValues(event.headers, "authorization");
  return { authorization, search: event.rawQueryString ?? "", cookie: event.cookies?.join("; ") };
}

/**
 * ALB events in the default single-value mode: the load balancer keeps only the last of repeated headers, so two
 * Authorization headers cannot be told apart here (the Lambda integration does not support multi-value mode).
 * Query values arrive still URL-encoded, as they were sent.
 */
export function sourcesOfAlbEvent(event: ALBEvent): CredentialSources {
  const headers = event.headers ?? {};
  const search = Object.entries(event.queryStringParameters ?? {})
    .map(([name, value]) => `${name}=${value ?? ""}`)
    .join("&");
  return { authorization: headerValues(headers, "authorization"), search, cookie: headerValues(headers, "cookie")[0] };
}

/** Header names are case-insensitive; events keep the case the client sent (ALB) or lower-case them (HTTP API). */
function headerValues(headers: Record<string, string | undefined>, name: string): string[] {
  return Object.entries(headers).flatMap(([key, value]) => (key.toLowerCase() === name && value !== undefined ? [value] : []));
}
