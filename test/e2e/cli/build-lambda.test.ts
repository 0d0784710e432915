import { execFile } from "node:child_process";
import { copyFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLambda, type LambdaBuild } from "../../../src/cli/build-lambda.js";
import { createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../../helpers/database.js";
import { tempDir } from "../../helpers/temp.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";

/**
 * `npm run build:lambda`: the one-file bundle holds only what a deployed function runs, and that file, loaded by
 * a fresh Node process as the Lambda runtime loads it, answers an API Gateway event with a real token against
 * PostgreSQL, or says in one sentence what to set when asked for something it left out.
 */
const outDir = tempDir("lambda-bundle-");
let built: LambdaBuild;
let key: TestKey;
let jwks: JwksServer;
let scratch: ScratchDatabase | undefined;

beforeAll(async () => {
  built = await buildLambda(outDir, () => undefined);
  key = generateRsaKey();
  jwks = await startJwksServer(jwksOf(key));
  if (TEST_DATABASE_URL) scratch = await createTestDatabase(TEST_DATABASE_URL);
}, 120_000);

afterAll(async () => {
  await jwks?.close();
  await scratch?.drop();
});

/** Loads the bundle in its own process with `env` and hands it one HTTP API event; resolves with what it printed. */
async function invoke(
  env: Record<string, string>,
  body: object,
  authorization?: string,
): Promise<{ statusCode?: number; body?: string; error?: string; codeCache?: string }> {
  const event = JSON.parse(readFileSync("test/fixtures/http-api-v2-event.json", "utf8"));
  event.body = JSON.stringify(body);
  if (authorization) event.headers.authorization = authorization;
  const script = `
    try {
      const { handler, codeCache } = await import(${JSON.stringify(built.bundle)});
      const result = await handler(JSON.parse(process.env.EVENT), { awsRequestId: "bundle-test" });
      console.log(JSON.stringify({ ...result, codeCache }));
    } catch (error) {
      console.log(JSON.stringify({ error: error.message }));
    }
    process.exit(0);`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    env: { PATH: process.env.PATH, LOG_LEVEL: "silent", DATA_DIR: join(outDir, "data"), EVENT: JSON.stringify(event), ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

/** Imports the entry in `dir` in a fresh process: what it says of the code cache, and what it wrote to stderr. */
async function entryStatus(dir: string): Promise<{ codeCache: string; stderr: string }> {
  const script = `const { codeCache } = await import(${JSON.stringify(join(dir, "index.mjs"))}); console.log(codeCache); process.exit(0);`;
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    env: { PATH: process.env.PATH, LOG_LEVEL: "silent" },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { codeCache: stdout.trim(), stderr: stderr.trim() };
}

const cognito = () => ({
  NODE_ENV: "production",
  COGNITO_USER_POOL_ID: TEST_POOL_ID,
  COGNITO_CLIENT_ID: TEST_CLIENT_ID,
  COGNITO_JWKS_URI: jwks.url,
});

describe("the Lambda bundle", () => {
  it("bundles the PostgreSQL driver and leaves out PGlite, the dev issuer and seed, the pretty logger and Sandbox", () => {
    const from = (pattern: RegExp) => built.inputs.filter((input) => pattern.test(input));
    expect(from(/node_modules\/pg\/lib\/client\.js$/)).toHaveLength(1);
    expect(from(/node_modules\/@electric-sql\/pglite\//)).toEqual([]);
    expect(from(/node_modules\/kysely-pglite-dialect\//)).toEqual([]);
    expect(from(/node_modules\/pino-pretty\//)).toEqual([]);
    expect(from(/^node_modules\/.*\/landingPage\/default\//)).toEqual([]);
    expect(from(/^src\/auth\/dev-issuer\.ts$|^src\/dev\/seed\.ts$/)).toEqual([]);
    expect(readFileSync(join(outDir, "schema", "orders.graphql"), "utf8")).toBe(readFileSync("schema/orders.graphql", "utf8"));
  });

  it.skipIf(!TEST_DATABASE_URL)(
    "answers a verified caller from a fresh process on PostgreSQL",
    async () => {
      const result = await invoke(
        { ...cognito(), DATABASE_URL: scratch!.url },
        { query: "{ me { sub } products(first: 1) { edges { node { id } } } }" },
        `Bearer ${signToken(key, accessClaims())}`,
      );
      expect(result.statusCode).toBe(200);
      expect(JSON.parse(result.body!)).toEqual({ data: { me: { sub: "user-sub-1" }, products: { edges: [] } } });
      expect(result.codeCache).toBe("used");
    },
    90_000,
  );

  it("ships V8's code cache of the bundle, which a fresh process uses", async () => {
    expect(statSync(join(outDir, "app.cjs.cache")).size).toBeGreaterThan(100_000);
    expect(await entryStatus(outDir)).toEqual({ codeCache: "used", stderr: "" });
  }, 60_000);

  it("compiles as usual, saying so in one log line, when V8 refuses the code cache", async () => {
    const copy = tempDir("lambda-bundle-copy-");
    for (const file of ["index.mjs", "app.cjs"]) copyFileSync(join(outDir, file), join(copy, file));
    writeFileSync(join(copy, "app.cjs.cache"), "not a code cache");
    const { codeCache, stderr } = await entryStatus(copy);
    expect(codeCache).toBe("rejected");
    expect(JSON.parse(stderr)).toMatchObject({ level: 40, event: "lambda.code_cache_rejected" });
  }, 60_000);

  it("says to set DATABASE_URL when started without one", async () => {
    const result = await invoke(cognito(), { query: "{ me { sub } }" });
    expect(result.error).toBe("the embedded database (PGlite) is not in the Lambda bundle: set DATABASE_URL to a PostgreSQL server");
  }, 90_000);

  it("says to set NODE_ENV=production when started outside production (dev mode included)", async () => {
    for (const env of [
      {} as Record<string, string>,
      { COGNITO_USER_POOL_ID: TEST_POOL_ID, COGNITO_CLIENT_ID: TEST_CLIENT_ID, COGNITO_JWKS_URI: jwks.url },
    ]) {
      const result = await invoke({ ...env, DATABASE_URL: "postgres://127.0.0.1:1/none" }, { query: "{ me { sub } }" });
      expect(result.error).toBe("the pretty logger is not in the Lambda bundle: Lambda logs JSON (set NODE_ENV=production)");
    }
  }, 90_000);

  it("refuses dev mode in production, naming the variable", async () => {
    const result = await invoke({ NODE_ENV: "production", DATABASE_URL: "postgres://127.0.0.1:1/none" }, { query: "{ me { sub } }" });
    expect(result.error).toMatch(/^COGNITO_USER_POOL_ID: /);
  }, 90_000);
});
