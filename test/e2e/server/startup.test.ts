import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { openDatabase } from "../../../src/data/database.js";
import { createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../../helpers/database.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { generateRsaKey, jwksOf } from "../../helpers/keys.js";
import { tempDir } from "../../helpers/temp.js";

/**
 * Every bad start the issue lists, as an operator would meet it: the process prints one line naming the variable
 * or file, the cause and what to do, without a stack, and exits 1.
 */

const run = promisify(execFile);
const held: Server[] = [];

/** Runs `script` (src/main.ts by default) through tsx with exactly `env`; returns exit code, output and time. */
async function start(env: Record<string, string>, script = "src/main.ts") {
  const started = Date.now();
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", script], {
      env: { PATH: process.env.PATH, PORT: "0", ...env },
      timeout: 120_000,
    });
    return { code: 0, output: (stdout + stderr).trim(), ms: Date.now() - started };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: (failed.stdout + failed.stderr).trim(), ms: Date.now() - started };
  }
}

/** A loopback port something listens on (held until the end of the file). */
async function busyPort(): Promise<number> {
  const server = createServer();
  held.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * A loopback port nothing listens on: port 1 (tcpmux), which no test binds. A port taken and released could be
 * handed to another suite's server running in parallel (a key-set server among them, which would let this start
 * succeed and run until the test's time-out, as it once did in CI).
 */
async function closedPort(): Promise<number> {
  return 1;
}

/** A DATA_DIR holding `content` as its dev keys file. */
function keysFile(content: string): string {
  const dir = tempDir("startup-keys-");
  writeFileSync(join(dir, "dev-issuer-keys.json"), content);
  return dir;
}

/** A directory this process may not write: root may write anywhere but in /sys; others get a chmod 500 one. */
function readOnlyDir(): string {
  if (process.getuid?.() === 0) return "/sys/kernel/cognito-graphql-api-test";
  const dir = tempDir("startup-ro-");
  chmodSync(dir, 0o500);
  return join(dir, "data");
}

function notADirectory(): string {
  const file = join(tempDir("startup-file-"), "data");
  writeFileSync(file, "a file, not a directory");
  return file;
}

function corruptPglite(): string {
  const dir = tempDir("startup-pglite-");
  mkdirSync(join(dir, "pglite"));
  writeFileSync(join(dir, "pglite", "PG_VERSION"), "garbage\n");
  return dir;
}

const cognito = { COGNITO_USER_POOL_ID: "us-east-1_AbC123", COGNITO_CLIENT_ID: "client1" };

const scratches: ScratchDatabase[] = [];
const keyServers: JwksServer[] = [];
/** A key server that answers (the first pool's), closed after the file. */
async function servedKeySet(): Promise<JwksServer> {
  const server = await startJwksServer(jwksOf(generateRsaKey()));
  keyServers.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(scratches.map((scratch) => scratch.drop()));
  await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  await Promise.all(keyServers.map((s) => s.close()));
});

describe("a bad start is one clear line and exit 1", () => {
  const cases: [string, () => Promise<Record<string, string>> | Record<string, string>, RegExp][] = [
    [
      "LOG_LEVEL=verbose",
      () => ({ LOG_LEVEL: "verbose" }),
      /^Configuration error: LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"$/,
    ],
    [
      "a HOST that is not an address",
      () => ({ HOST: "http://0.0.0.0" }),
      /^Configuration error: HOST: "http:\/\/0\.0\.0\.0" is not an IP address or a host name/,
    ],
    [
      "JWKS_REFRESH_SECONDS=0",
      () => ({ JWKS_REFRESH_SECONDS: "0" }),
      /^Configuration error: JWKS_REFRESH_SECONDS: must be a whole number from 1 to 86400/,
    ],
    [
      "the port in use",
      async () => ({ HOST: "127.0.0.1", PORT: String(await busyPort()) }),
      /^Cannot start: PORT: 127\.0\.0\.1:\d+ is already in use \(EADDRINUSE\); stop the process that holds it or set PORT to a free port$/,
    ],
    [
      "a HOST that does not resolve",
      () => ({ HOST: "no-such-host.invalid" }),
      /^Cannot start: HOST: "no-such-host\.invalid" does not resolve to an address \((ENOTFOUND|EAI_AGAIN|EAI_NONAME)\); set HOST to/,
    ],
    [
      "DATABASE_URL to a closed port",
      async () => ({ DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/shop` }),
      /^Cannot start: DATABASE_URL: cannot connect to PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/shop \(ECONNREFUSED\); check that PostgreSQL runs there/,
    ],
    [
      "a read-only DATA_DIR",
      () => ({ DATA_DIR: readOnlyDir() }),
      /^Cannot start: DATA_DIR: cannot keep the dev keys in \S+ \((EACCES|EROFS|EPERM|ENOENT): [^)]+\); point DATA_DIR at a writable directory$/,
    ],
    [
      "a DATA_DIR that is a file",
      () => ({ DATA_DIR: notADirectory() }),
      /^Cannot start: DATA_DIR: cannot keep the dev keys in \S+ \(ENOTDIR: [^)]+\); point DATA_DIR at a writable directory$/,
    ],
    [
      "garbage in dev-issuer-keys.json",
      () => ({ DATA_DIR: keysFile("{not json") }),
      /^Cannot start: \S+dev-issuer-keys\.json: is not valid JSON \(.+\); delete \S+dev-issuer-keys\.json to create new dev keys/,
    ],
    [
      "a keys file of the wrong shape",
      () => ({ DATA_DIR: keysFile('{"access": 1, "id": "x"}') }),
      /^Cannot start: \S+dev-issuer-keys\.json: is not a dev keys file .*; delete \S+dev-issuer-keys\.json to create new dev keys/,
    ],
    [
      "a corrupt embedded database",
      () => ({ DATA_DIR: corruptPglite() }),
      /^Cannot start: DATA_DIR: the embedded database in \S+pglite cannot be opened \(.{1,220}\); move \S+ aside, or delete it to start with an empty database/,
    ],
    [
      "an unreachable key set",
      async () => ({ ...cognito, COGNITO_JWKS_URI: `http://127.0.0.1:${await closedPort()}/jwks.json` }),
      /^Cannot start: COGNITO_JWKS_URI: user pool us-east-1_AbC123: the key set at https:\/\/cognito-idp\.us-east-1\.amazonaws\.com\/us-east-1_AbC123\/\.well-known\/jwks\.json could not be loaded \(Failed to fetch http:\/\/127\.0\.0\.1:\d+\/jwks\.json: .*ECONNREFUSED.*\); check the pool id and URL/,
    ],
    [
      // aws-jwt-verify's hydrate() resolves when any one pool loads; ours needs every pool.
      "two pools, the second one's key set unreachable",
      async () => ({
        COGNITO_USER_POOL_ID: "us-east-1_AbC123,eu-west-1_Second2",
        COGNITO_CLIENT_ID: "client1",
        COGNITO_JWKS_URI: `${(await servedKeySet()).url},http://127.0.0.1:${await closedPort()}/second.json`,
      }),
      /^Cannot start: COGNITO_JWKS_URI: user pool eu-west-1_Second2: the key set at https:\/\/cognito-idp\.eu-west-1\.amazonaws\.com\/eu-west-1_Second2\/\.well-known\/jwks\.json could not be loaded \(Failed to fetch http:\/\/127\.0\.0\.1:\d+\/second\.json: .*ECONNREFUSED.*\); check the pool id and URL/,
    ],
  ];
  if (TEST_DATABASE_URL) {
    const missing = new URL(TEST_DATABASE_URL);
    missing.pathname = "/no_such_database_for_startup_test";
    cases.push([
      "a database that does not exist",
      () => ({ DATABASE_URL: missing.toString() }),
      /^Cannot start: DATABASE_URL: database "no_such_database_for_startup_test" does not exist at \S+; create it \(createdb no_such_database_for_startup_test\) or fix DATABASE_URL$/,
    ]);
    // The database answers, but the revocations cannot be read: the line says so, not that DATABASE_URL is wrong.
    cases.push([
      "a revocations table the server cannot read",
      async () => {
        const scratch = await createTestDatabase(TEST_DATABASE_URL!);
        scratches.push(scratch);
        const opened = await openDatabase({ url: scratch.url, pgliteDir: null });
        await sql`alter table revocations rename column seq to seq_moved`.execute(opened.db);
        await opened.close();
        return { DATABASE_URL: scratch.url };
      },
      /^Cannot start: revocations: PostgreSQL at \S+ answered with an error while the session revocations were loaded \(SQLSTATE 42703: column "seq" does not exist\); check the revocations table and that the database user may read it/,
    ]);
  }

  it.each(cases)("%s", async (_case, envOf, line) => {
    const env = await envOf();
    const { code, output, ms } = await start({ DATA_DIR: tempDir("startup-"), ...env });
    expect(code, output).toBe(1);
    expect(output.split("\n"), output).toHaveLength(1);
    expect(output).toMatch(line);
    expect(output).not.toMatch(/^\s+at /m);
    console.log(`${_case}: ${ms} ms`);
  });

  it("npm run token says the same about a broken keys file", async () => {
    const { code, output } = await start({ DATA_DIR: keysFile("garbage") }, "src/cli/token.ts");
    expect(code).toBe(1);
    expect(output).toMatch(/^\S+dev-issuer-keys\.json: is not valid JSON \(.+\); delete \S+ to create new dev keys/);
    expect(output.split("\n")).toHaveLength(1);
  });
});
