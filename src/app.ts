/**
 * The one composition root: configuration in, a ready application out (schema, verifier, database, revocations,
 * event hub, Apollo server, logger, metrics, and the HTTP and WebSocket servers on demand). `src/main.ts`, the
 * Lambda handlers, the tests and the benchmark all build the product here; they may override parts (a database
 * URL, a logger, the schema, the verifier), never wire it themselves.
 */
import type { ApolloServer } from "@apollo/server";
import type { GraphQLSchema } from "graphql";
import type { Logger } from "pino";
import type { DevIssuer, RevocationCheck, TokenVerifier, VerifiedEmailLookup } from "./auth/index.js";
import { keySetReadinessChecks, setUpAuth } from "./auth-setup.js";
import type { Config } from "./config.js";
import { openDatabase, pgliteDirOf, type Db, type OpenDatabase } from "./data/database.js";
import { seedDevData } from "./dev/seed.js";
import { createApolloServer } from "./graphql/apollo.js";
import type { AppContext } from "./graphql/context.js";
import { createContextFactory } from "./graphql/context-factory.js";
import type { ServerDependencies } from "./graphql/dependencies.js";
import type { Transport } from "./graphql/limits.js";
import { buildSchema } from "./graphql/schema.js";
import type { RunningServer } from "./http/server.js";
import { createLogger } from "./logger.js";
import { Metrics } from "./metrics.js";
import { setUpRevocation, type RevocationSetup } from "./revocations/setup.js";
import { cognitoCallReporting, reportDatabaseBound, type BoundReporting } from "./bounds-reporting.js";
import { createLoadShedder, type LoadShedder } from "./http/shed.js";
import type { StartupStep } from "./startup.js";

/** Runs one named start-up step; `main.ts` turns its failure into the one-line refusal naming what to fix. */
export type StepRunner = <T>(name: StartupStep, run: () => T | Promise<T>) => Promise<T>;

export interface AppOptions {
  /** Wraps each start-up step (`dev-keys`, `key-sets`, `database`, `listen`). Default: runs it, failures throw. */
  readonly step?: StepRunner;
  /** The log. Default: `createLogger` per the configuration (stdout); `null`: nothing is logged. */
  readonly logger?: Logger | null;
  /**
   * Prometheus metrics (served per METRICS_PORT and the posture): `true` for new ones, or the instruments to use (a
   * test reading them). Default `true`; Lambda and most tests: `false`.
   */
  readonly metrics?: boolean | Metrics;
  /** Replaces the product schema (directive tests, the benchmark). */
  readonly schema?: GraphQLSchema;
  /** Replaces the Cognito verifier (the benchmark's auth-off variant); then there is no dev issuer. */
  readonly verifier?: TokenVerifier;
  /** Replaces the caller's email lookup (Cognito `GetUser`); `null`: none (the benchmark, which has no network). */
  readonly emailLookup?: VerifiedEmailLookup | null;
  /** The database. Default: `DATABASE_URL`, else PGlite under `DATA_DIR`; `pgliteDir: null` is in memory. */
  readonly database?: {
    readonly url?: string | null;
    readonly pgliteDir?: string | null;
    readonly poolSize?: number;
    readonly onQuery?: () => void;
  };
  /** Fills a new database. Default: the dev seed in dev mode, nothing otherwise. */
  readonly seed?: (database: OpenDatabase) => Promise<void>;
  /** Session revocation (its list, revoker and sync). Default `true`. */
  readonly revocation?: boolean;
  /** A list of revoked sessions that replaces the one the revocation mutations write to (tests). */
  readonly revocations?: RevocationCheck;
  /** Load shedding of `/graphql` (SHED_*). Default `true`; the benchmark's auth-off baseline goes without. */
  readonly shed?: boolean;
  /**
   * Database notifications: revocations pushed by other replicas and subscriptions over WebSocket. Default
   * `true`; the Lambda handlers (frozen between invocations) use `false` and reload revocations instead.
   */
  readonly notifications?: boolean;
}

export interface App {
  readonly config: Config;
  readonly logger: Logger | undefined;
  readonly metrics: Metrics | undefined;
  readonly schema: GraphQLSchema;
  readonly verifier: TokenVerifier;
  readonly devIssuer: DevIssuer | null;
  readonly emailLookup: VerifiedEmailLookup | undefined;
  readonly database: OpenDatabase;
  readonly db: Db;
  /** Absent with `revocation: false`. */
  readonly revocation: RevocationSetup | undefined;
  /** What the pipeline and every transport are built from. */
  readonly dependencies: ServerDependencies;
  /** A new (not started) Apollo Server of the product for `transport`. */
  apollo(transport: Transport): ApolloServer<AppContext>;
  /** The per-request context factory (credentials in, context out). */
  readonly contextFor: ReturnType<typeof createContextFactory>;
  /** Starts Apollo, the HTTP server and (with notifications) the WebSocket transport; once. */
  serve(): Promise<RunningServer>;
  /** Stops what runs (server, revocation sync, key refresh) and closes the database. Bounded (see `RunningServer.close`). */
  close(): Promise<void>;
}

const runStep: StepRunner = async (_name, run) => await run();

/** Builds the application: keys hydrated, database open and migrated (seeded in dev mode), revocations loaded. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const step = options.step ?? runStep;
  const logger = options.logger === null ? undefined : (options.logger ?? createLogger(config.production, config.logLevel));
  let database: OpenDatabase | undefined;
  // Metrics exist before the database does (key-set fetches are counted from the start).
  const metrics = metricsOf(options.metrics, () => database?.poolStats() ?? null);
  const auth = options.verifier
    ? { verifier: options.verifier, devIssuer: null, emailLookup: undefined }
    : await step("dev-keys", () =>
        setUpAuth(
          config,
          metrics && ((result) => metrics.keySetFetches.inc({ result })),
          cognitoCallReporting({ logger, metrics }, "GetUser"),
        ),
      );
  const emailLookup = options.emailLookup === null ? undefined : (options.emailLookup ?? auth.emailLookup);
  const listen = options.notifications !== false;
  const started = await startInParallel(step, auth.verifier, () => openDatabaseOf(config, options, { logger, metrics }, listen), options);
  database = started.database;
  const open = database;
  metrics?.observeKeySets(() => auth.verifier.keySets?.() ?? []);
  let revocation: RevocationSetup | undefined;
  try {
    await step("database", () => (options.seed ?? seedDefault(config))(open));
    if (options.revocation !== false) {
      const cognitoCalls = cognitoCallReporting({ logger, metrics }, "sign-out");
      revocation = await step("revocations", () => setUpRevocation(config, open, { logger, listen, cognitoCalls }));
    }
  } catch (error) {
    await open.close();
    throw error;
  }
  const shedder =
    options.shed === false
      ? undefined
      : createLoadShedder({
          ...config.bounds,
          poolWaiting: () => open.poolStats()?.waiting ?? 0,
          onShed: (reason) => metrics?.shed.inc({ reason }),
        });
  const dependencies = dependenciesOf(config, {
    schema: started.schema,
    auth,
    revocation,
    revocations: options.revocations,
    database: open,
    listen,
    emailLookup,
    logger,
    metrics,
    shedder,
  });
  let server: Promise<RunningServer> | undefined;
  return {
    config,
    logger,
    metrics,
    schema: started.schema,
    verifier: auth.verifier,
    devIssuer: auth.devIssuer,
    emailLookup,
    database: open,
    db: open.db,
    revocation,
    dependencies,
    apollo: (transport) => createApolloServer(dependencies, transport),
    contextFor: createContextFactory(dependencies),
    serve: () => (server ??= step("listen", () => serve(dependencies, shedder))),
    async close() {
      await (await server?.catch(() => undefined))?.close();
      revocation?.sync.close();
      auth.verifier.close();
      await open.close(2000);
    },
  };
}

/**
 * The key-set fetch and the database's connection and migration check wait on the network: both run at once, and
 * the schema is built while they wait. Throws the first failure, after closing the database if it opened.
 */
async function startInParallel(
  step: StepRunner,
  verifier: TokenVerifier,
  openDb: () => Promise<OpenDatabase>,
  options: AppOptions,
): Promise<{ database: OpenDatabase; schema: GraphQLSchema }> {
  const [keys, opened, built] = await Promise.allSettled([
    step("key-sets", () => verifier.hydrate()),
    step("database", openDb),
    new Promise<void>((resolve) => setImmediate(resolve)).then(() => options.schema ?? buildSchema()),
  ]);
  if (keys.status === "rejected" || opened.status === "rejected" || built.status === "rejected") {
    // A failed start must not leave a pool open beside the next attempt's (Lambda retries on the next invocation).
    if (opened.status === "fulfilled") await opened.value.close();
    throw [keys, opened, built].map((r) => (r.status === "rejected" ? r.reason : undefined)).find((reason) => reason !== undefined);
  }
  return { database: opened.value, schema: built.value };
}

/** What `dependenciesOf` assembles: the parts `createApp` built or opened. */
interface Parts {
  readonly schema: GraphQLSchema;
  readonly auth: { readonly verifier: TokenVerifier; readonly devIssuer: DevIssuer | null };
  readonly revocation: RevocationSetup | undefined;
  /** Replaces the revocation list (`AppOptions.revocations`). */
  readonly revocations: RevocationCheck | undefined;
  readonly database: OpenDatabase;
  readonly listen: boolean;
  readonly emailLookup: VerifiedEmailLookup | undefined;
  readonly logger: Logger | undefined;
  readonly metrics: Metrics | undefined;
  readonly shedder: LoadShedder | undefined;
}

/** The dependencies of the pipeline and every transport, with the readiness checks of `/readyz`. */
function dependenciesOf(config: Config, parts: Parts): ServerDependencies {
  const { auth, revocation, database, shedder } = parts;
  return {
    config,
    schema: parts.schema,
    verifier: auth.verifier,
    revocations: parts.revocations ?? revocation?.list,
    revoker: revocation?.revoker,
    db: database.db,
    notifications: parts.listen ? database.notifications() : undefined,
    devIssuer: auth.devIssuer,
    emailLookup: parts.emailLookup,
    logger: parts.logger,
    metrics: parts.metrics,
    // Ready: the database answers, the revocation list is current, every pool's key set is usable, and the replica
    // is not shedding load (a load balancer may send traffic elsewhere meanwhile: docs/faults.md).
    readinessChecks: {
      database: () => database.ping(),
      ...(revocation && { revocations: revocation.ready }),
      ...keySetReadinessChecks(auth.verifier),
      ...(shedder && { notSaturated: async () => shedder.saturation() === null }),
    },
    shutdownTimeoutMs: config.http.shutdownTimeoutSeconds * 1000,
    abortInFlight: () => database.abortActive(),
  };
}

/** `AppOptions.metrics`: the instruments given, new ones reading the pool through `poolStats`, or none. */
function metricsOf(option: AppOptions["metrics"], poolStats: ConstructorParameters<typeof Metrics>[0]): Metrics | undefined {
  if (option === false) return undefined;
  return option instanceof Metrics ? option : new Metrics(poolStats);
}

/** Apollo, then HTTP with the WebSocket transport beside it. */
async function serve(dependencies: ServerDependencies, shedder: LoadShedder | undefined): Promise<RunningServer> {
  // Loaded here, not at import: the Lambda handlers share this module and never serve HTTP or WebSocket.
  const [{ startHttpServer }, { attachSubscriptions }] = await Promise.all([import("./http/server.js"), import("./ws/index.js")]);
  const apollo = createApolloServer(dependencies);
  await apollo.start();
  return startHttpServer(dependencies, apollo, (httpServer) => attachSubscriptions(dependencies, httpServer), shedder);
}

const seedDefault = (config: Config) => async (database: OpenDatabase) => {
  if (config.mode === "dev") await seedDevData(database.db);
};

/** The database with the configured bounds (DATABASE_POOL_*, statement and idle-transaction timeouts). */
function openDatabaseOf(config: Config, options: AppOptions, reporting: BoundReporting, listen: boolean): Promise<OpenDatabase> {
  const db = options.database ?? {};
  const logger = reporting.logger;
  return openDatabase({
    url: db.url !== undefined ? db.url : config.databaseUrl,
    pgliteDir: db.pgliteDir !== undefined ? db.pgliteDir : pgliteDirOf(config.dataDir),
    poolSize: db.poolSize ?? config.bounds.poolSize,
    connectTimeoutMs: config.bounds.poolTimeoutMs,
    statementTimeoutMs: config.bounds.statementTimeoutMs,
    idleInTransactionTimeoutMs: config.bounds.idleInTransactionTimeoutMs,
    onQuery: db.onQuery,
    onConnectionError: (error, state) => {
      logger?.warn(
        { event: "db.connection_lost", state, err: { type: error.name, message: error.message } },
        "database connection lost; it is replaced on next use",
      );
      // PostgreSQL ending a transaction left idle past DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS arrives here.
      reportDatabaseBound(reporting, error);
    },
    notifications: listen
      ? {
          onConnectionError: (error) =>
            logger?.warn(
              { event: "db.listen_lost", err: { type: error.name, message: error.message } },
              "database notifications lost; reconnecting (revocations are reloaded meanwhile)",
            ),
          onReconnected: () => logger?.info({ event: "db.listen_restored" }, "database notifications restored"),
        }
      : undefined,
  });
}
