// Only the configuration is imported up front: a bad variable is reported in well under a second, before the
// heavy modules (Apollo, graphql, pg, PGlite) are loaded.
import { ConfigError, loadConfig, type Config } from "./config.js";

/** Exits 1 with one line on stderr: which variable or file, the cause, what to do. */
function refuse(line: string): never {
  console.error(`Cannot start: ${line}`);
  process.exit(1);
}

/** Entry: config -> port check -> the application (`app.ts`: keys hydrated, database migrated) -> listen; stops on SIGINT/SIGTERM. */
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

  const [{ createApp }, { createLogger }, { pgliteDirOf }, { ABORT_GRACE_MS }] = await Promise.all([
    import("./app.js"),
    import("./logger.js"),
    import("./data/database.js"),
    import("./http/server.js"),
  ]);
  const logger = createLogger(config.production, config.logLevel);
  // Anything that still escapes is logged as one error line (with its stack, for the developers) before exiting.
  const fatal = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, `${kind}; exiting`);
    process.exit(1);
  };
  process.on("uncaughtException", fatal("uncaught exception"));
  process.on("unhandledRejection", fatal("unhandled promise rejection"));

  // Keys hydrated and the database ready before the server reports ready; each step's failure is one line.
  const app = await createApp(config, { step, logger });
  const { devIssuer, database } = app;
  const server = await app.serve();
  const shutdownTimeoutMs = config.http.shutdownTimeoutSeconds * 1000;

  if (config.mode === "dev") {
    console.log(`API listening on ${server.url} (dev mode: built-in dev issuer, pool ${devIssuer!.userPoolId})`);
    console.log(
      `Database: ${database.kind === "postgres" ? "PostgreSQL (DATABASE_URL)" : `embedded PGlite in ${pgliteDirOf(config.dataDir)}`}, with dev seed data.`,
    );
    console.log(`Open ${server.url} in a browser for Apollo Sandbox, signed in as alice.`);
    console.log("Get a token:  npm run -s token -- alice   (personas: alice bob sam stella ada fulfillment)");
    console.log(
      `  or over HTTP: curl -s -X POST ${server.url.replace(/\/graphql$/, "/dev/token")} -H 'content-type: application/json' -d '{"persona":"alice"}'`,
    );
  } else {
    logger.info({ url: server.url, pools: config.auth.userPoolIds, tokenUse: config.auth.tokenUse }, "API listening");
  }

  // Shutdown is bounded whatever the database does: requests get SHUTDOWN_TIMEOUT_SECONDS, blocked ones are then
  // aborted and answered 503 (ABORT_GRACE_MS), the pool gets 2 s to end. The backstop below only fires if one of
  // those bounds has a bug; it still exits 0, since the process did what SIGTERM asked.
  const SHUTDOWN_MARGIN_MS = ABORT_GRACE_MS + 2500;
  const stop = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    setTimeout(
      () => {
        logger.error({ signal }, "shutdown overran its bound; exiting anyway");
        process.exit(0);
      },
      shutdownTimeoutMs + SHUTDOWN_MARGIN_MS + 1000,
    ).unref();
    await app.close();
    logger.info({ signal }, "stopped");
    process.exit(0);
  };
  process.once("SIGINT", (s) => void stop(s));
  process.once("SIGTERM", (s) => void stop(s));
}

await main();
