// Only the configuration is imported up front: a bad variable is reported in well under a second, before the
// heavy modules (Apollo, graphql, pg, PGlite) are loaded.
import { ConfigError, loadConfig, type Config } from "./config.js";

/** Exits 1 with one line on stderr: which variable or file, the cause, what to do. */
function refuse(line: string): never {
  console.error(`Cannot start: ${line}`);
  process.exit(1);
}

/** Entry: config -> port check -> verifier (keys hydrated) -> database (migrated) -> schema -> listen; stops on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Configuration error: ${error.message}`);
    process.exit(1);
  }
  const { checkListenable, describeStartupFailure } = await import("./startup.js");
  const step = async <T>(name: Parameters<typeof describeStartupFailure>[0], run: () => T | Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      refuse(describeStartupFailure(name, error, config));
    }
  };
  await step("listen", () => checkListenable(config.http.host, config.http.port));
  config = await step("database-secret", async () => (await import("./data/database-secret.js")).withDatabaseSecret(config));

  const [{ setUpAuth, keySetReadinessChecks }, { openDatabase, pgliteDirOf }, { seedDevData }, { buildSchema }, { createLogger }, { Metrics }, { startServer, ABORT_GRACE_MS }, { setUpRevocation }] =
    await Promise.all([
      import("./auth-setup.js"),
      import("./data/database.js"),
      import("./dev/seed.js"),
      import("./graphql/schema.js"),
      import("./logger.js"),
      import("./metrics.js"),
      import("./server.js"),
      import("./revocations/setup.js"),
    ]);
  const logger = createLogger(config.production, config.logLevel);
  // Anything that still escapes is logged as one error line (with its stack, for the developers) before exiting.
  const fatal = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, `${kind}; exiting`);
    process.exit(1);
  };
  process.on("uncaughtException", fatal("uncaught exception"));
  process.on("unhandledRejection", fatal("unhandled promise rejection"));

  // Metrics exist before the database does (key-set fetches are counted from the start).
  let poolOf: { poolStats(): ReturnType<import("./data/database.js").OpenDatabase["poolStats"]> } | undefined;
  const metrics = new Metrics(() => poolOf?.poolStats() ?? null);
  const { cognitoCallReporting, reportDatabaseBound } = await import("./bounds-reporting.js");
  const { verifier, devIssuer, emailLookup } = await step("dev-keys", () =>
    setUpAuth(config, (result) => metrics.keySetFetches.inc({ result }), cognitoCallReporting({ logger, metrics }, "GetUser")),
  );
  await step("key-sets", () => verifier.hydrate());
  metrics.observeKeySets(() => verifier.keySets?.() ?? []);
  const database = await step("database", () =>
    openDatabase({
      url: config.databaseUrl,
      pgliteDir: pgliteDirOf(config.dataDir),
      poolSize: config.bounds.poolSize,
      connectTimeoutMs: config.bounds.poolTimeoutMs,
      statementTimeoutMs: config.bounds.statementTimeoutMs,
      idleInTransactionTimeoutMs: config.bounds.idleInTransactionTimeoutMs,
      onConnectionError: (error, state) => {
        logger.warn({ event: "db.connection_lost", state, err: { type: error.name, message: error.message } }, "database connection lost; it is replaced on next use");
        // PostgreSQL ending a transaction left idle past DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS arrives here.
        reportDatabaseBound({ logger, metrics }, error);
      },
      notifications: {
        onConnectionError: (error) =>
          logger.warn({ event: "db.listen_lost", err: { type: error.name, message: error.message } }, "database notifications lost; reconnecting (revocations are reloaded meanwhile)"),
        onReconnected: () => logger.info({ event: "db.listen_restored" }, "database notifications restored"),
      },
    }),
  );
  poolOf = database;
  if (config.mode === "dev") await step("database", () => seedDevData(database.db));
  const revocation = await step("revocations", () => setUpRevocation(config, database, { logger, cognitoCalls: cognitoCallReporting({ logger, metrics }, "sign-out") }));
  const { createLoadShedder } = await import("./http-shed.js");
  const shedder = createLoadShedder({ ...config.bounds, poolWaiting: () => database.poolStats()?.waiting ?? 0, onShed: (reason) => metrics.shed.inc({ reason }) });
  const schema = buildSchema();
  const shutdownTimeoutMs = config.http.shutdownTimeoutSeconds * 1000;
  const server = await step("listen", () =>
    startServer({
      config,
      schema,
      verifier,
      revocations: revocation.list,
      revoker: revocation.revoker,
      db: database.db,
      notifications: database.notifications(),
      devIssuer,
      emailLookup,
      logger,
      metrics,
      // notSaturated: a load balancer may send traffic elsewhere while this replica sheds (docs/faults.md).
      readinessChecks: {
        database: () => database.ping(),
        revocations: revocation.ready,
        ...keySetReadinessChecks(verifier),
        notSaturated: async () => shedder.saturation() === null,
      },
      shedder,
      shutdownTimeoutMs,
      abortInFlight: () => database.abortActive(),
    }),
  );

  if (config.mode === "dev") {
    console.log(`API listening on ${server.url} (dev mode: built-in dev issuer, pool ${devIssuer!.userPoolId})`);
    console.log(`Database: ${database.kind === "postgres" ? "PostgreSQL (DATABASE_URL)" : `embedded PGlite in ${pgliteDirOf(config.dataDir)}`}, with dev seed data.`);
    console.log(`Open ${server.url} in a browser for Apollo Sandbox, signed in as alice.`);
    console.log("Get a token:  npm run -s token -- alice   (personas: alice bob sam stella ada fulfillment)");
    console.log(`  or over HTTP: curl -s -X POST ${server.url.replace(/\/graphql$/, "/dev/token")} -H 'content-type: application/json' -d '{"persona":"alice"}'`);
  } else {
    logger.info({ url: server.url, pools: config.auth.userPoolIds, tokenUse: config.auth.tokenUse }, "API listening");
  }

  // Shutdown is bounded whatever the database does: requests get SHUTDOWN_TIMEOUT_SECONDS, blocked ones are then
  // aborted and answered 503 (ABORT_GRACE_MS), the pool gets 2 s to end. The backstop below only fires if one of
  // those bounds has a bug; it still exits 0, since the process did what SIGTERM asked.
  const SHUTDOWN_MARGIN_MS = ABORT_GRACE_MS + 2500;
  const stop = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    setTimeout(() => {
      logger.error({ signal }, "shutdown overran its bound; exiting anyway");
      process.exit(0);
    }, shutdownTimeoutMs + SHUTDOWN_MARGIN_MS + 1000).unref();
    await server.close();
    revocation.sync.close();
    verifier.close();
    await database.close(2000);
    logger.info({ signal }, "stopped");
    process.exit(0);
  };
  process.once("SIGINT", (s) => void stop(s));
  process.once("SIGTERM", (s) => void stop(s));
}

await main();
