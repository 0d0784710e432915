import { handlers, startServerAndCreateLambdaHandler } from "@as-integrations/aws-lambda";
import type { ALBEvent, ALBResult, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { CredentialSources } from "./auth/index.js";
import { setUpAuth } from "./auth-setup.js";
import { loadConfig } from "./config.js";
import { openDatabase, pgliteDirOf } from "./data/database.js";
import { seedDevData } from "./dev/seed.js";
import { buildSchema } from "./graphql/schema.js";
import { createLogger } from "./logger.js";
import { createApolloServer, createContextFactory } from "./server.js";

/**
 * AWS Lambda entry points sharing the HTTP server's schema, context and auth:
 *   `handler`     API Gateway HTTP API (payload format 2.0)
 *   `albHandler`  Application Load Balancer (single-value headers, the default)
 * Configuration, the key sets (hydrated) and the database are set up once per cold start and reused by every
 * invocation of the same instance.
 */
const instance = (async () => {
  const config = loadConfig();
  const { verifier, devIssuer } = setUpAuth(config);
  await verifier.hydrate();
  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: pgliteDirOf(config.dataDir), poolSize: 2 });
  if (config.mode === "dev") await seedDevData(database.db);
  // Logs go to stdout, which Lambda sends to CloudWatch; metrics are CloudWatch's, so none here.
  return { config, schema: buildSchema(), verifier, database, db: database.db, devIssuer, logger: createLogger(config.production) };
})();

type Deps = Awaited<typeof instance>;

/** This instance's set-up (configuration, database, dev issuer), made once per cold start; tests read it. */
export function lambdaInstance(): Promise<Deps> {
  return instance;
}

/**
 * An Apollo Server starts once, so each event shape gets its own (a function normally serves just one), made
 * on its first invocation.
 */
function lazyHandler<T>(create: (deps: Deps, apollo: Parameters<typeof startServerAndCreateLambdaHandler>[0]) => T): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    (made ??= instance.then((deps) =>
      // The integration is CommonJS and types Apollo with its CommonJS declarations; at run time it is this instance.
      create(deps, createApolloServer(deps) as unknown as Parameters<typeof startServerAndCreateLambdaHandler>[0]),
    ));
}

const httpApi = lazyHandler((deps, apollo) => {
  const contextFor = createContextFactory(deps);
  return startServerAndCreateLambdaHandler(apollo, handlers.createAPIGatewayProxyEventV2RequestHandler(), {
    context: ({ event }) => contextFor(sourcesOfHttpApiEvent(event)),
  });
});

const alb = lazyHandler((deps, apollo) => {
  const contextFor = createContextFactory(deps);
  return startServerAndCreateLambdaHandler(apollo, handlers.createALBEventRequestHandler(), {
    context: ({ event }) => contextFor(sourcesOfAlbEvent(event)),
  });
});

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
