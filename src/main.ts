import { ConfigError, loadConfig, type Config } from "./config.js";
import { setUpAuth } from "./auth-setup.js";
import { openDatabase, pgliteDirOf, type OpenDatabase } from "./data/database.js";
import { seedDevData } from "./dev/seed.js";
import { buildSchema } from "./graphql/schema.js";
import { createLogger } from "./logger.js";
import { Metrics } from "./metrics.js";
import { startServer } from "./server.js";

/** Entry: config -> verifier (keys hydrated) -> database (migrated) -> schema -> listen; stops on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Configuration error: ${error.message}`);
    process.exit(1);
  }
  const logger = createLogger(config.production);
  // Metrics exist before the database does (key-set fetches are counted from the start).
  let poolOf: OpenDatabase | undefined;
  const metrics = new Metrics(() => poolOf?.poolStats() ?? null);
  const { verifier, devIssuer, emailLookup } = setUpAuth(config, (result) => metrics.keySetFetches.inc({ result }));
  try {
    await verifier.hydrate();
  } catch (error) {
    console.error(`Could not load the user pools' key sets (${(error as { reason?: string }).reason}); not starting.`);
    process.exit(1);
  }
  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: pgliteDirOf(config.dataDir) });
  poolOf = database;
  if (config.mode === "dev") await seedDevData(database.db);
  const schema = buildSchema();
  const server = await startServer({
    config,
    schema,
    verifier,
    db: database.db,
    devIssuer,
    emailLookup,
    logger,
    metrics,
    readinessChecks: { database: () => database.ping() },
    shutdownTimeoutMs: config.http.shutdownTimeoutSeconds * 1000,
  });

  if (config.mode === "dev") {
    console.log(`API listening on ${server.url} (dev mode: built-in dev issuer, pool ${devIssuer!.userPoolId})`);
    console.log(`Database: ${database.kind === "postgres" ? "PostgreSQL (DATABASE_URL)" : `embedded PGlite in ${pgliteDirOf(config.dataDir)}`}, with dev seed data.`);
    console.log(`Open ${server.url} in a browser for Apollo Sandbox, signed in as alice.`);
    console.log("Get a token:  npm run -s token -- alice   (personas: alice bob sam stella ada fulfillment)");
    console.log(`  or over HTTP: curl -s -X POST ${server.url.replace(/\/graphql$/, "/dev/token")} -H 'content-type: application/json' -d '{"persona":"alice"}'`);
  } else {
    logger.info({ url: server.url, pools: config.auth.userPoolIds, tokenUse: config.auth.tokenUse }, "API listening");
  }

  const stop = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await server.close();
    verifier.close();
    await database.close();
    process.exit(0);
  };
  process.once("SIGINT", (s) => void stop(s));
  process.once("SIGTERM", (s) => void stop(s));
}

await main();
