/**
 * `npm run bench:lambda`: the Lambda handler's cold start, from a fresh Node process's start to its first
 * answer, for the deployed bundle (`npm run build:lambda`, build/lambda/index.mjs) and, side by side, the
 * unbundled build (`npm run build`, dist/lambda.js). Runs alternate between the two so machine noise hits both
 * alike. Cognito mode with the key set served locally, on PostgreSQL (TEST_DATABASE_URL; the bundle has no
 * embedded database, as a deployed function uses none): a scratch database is made and dropped there.
 * Prints the database it runs on, each run as it goes (with whether the bundle's V8 code cache was used) and the
 * medians; leaves nothing behind (each run's DATA_DIR and the scratch database are removed, also on failure or
 * Ctrl-C).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { createTestDatabase } from "../test/helpers/database.js";
import { startJwksServer } from "../test/helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID } from "../test/helpers/keys.js";
import { removeTempDir, tempDir } from "../test/helpers/temp.js";

const RUNS = Number(process.env.RUNS ?? 7);
const root = join(import.meta.dirname, "..");
const TARGETS = { bundle: join(root, "build/lambda/index.mjs"), unbundled: join(root, "dist/lambda.js") } as const;
const postgres = process.env.TEST_DATABASE_URL;
if (!postgres) {
  console.error(
    "bench:lambda needs PostgreSQL: set TEST_DATABASE_URL (for example postgres://postgres@127.0.0.1:5432/test); a scratch database is made and dropped there.",
  );
  process.exit(1);
}

const key = generateRsaKey();
const jwks = await startJwksServer(jwksOf(key));
const scratch = await createTestDatabase(postgres);
const event = JSON.parse(readFileSync(join(root, "test/fixtures/http-api-v2-event.json"), "utf8"));
event.body = JSON.stringify({ query: "{ me { sub } products(first: 5) { edges { node { name } } } }" });
event.headers.authorization = `Bearer ${signToken(key, accessClaims())}`;

// The child measures from its own start (performance.now() counts from the process's time origin) to the first
// answer, and checks the answer.
const child = (target: string) => `
  const { handler, codeCache = "none" } = await import(${JSON.stringify(target)});
  const imported = performance.now();
  const result = await handler(JSON.parse(process.env.EVENT), { awsRequestId: "cold" });
  if (result.statusCode !== 200) throw new Error(result.body);
  console.log(JSON.stringify({ importMs: imported, firstResponseMs: performance.now(), codeCache }));
  process.exit(0);
`;

process.once("SIGINT", () => {
  void scratch.drop().finally(() => process.exit(130));
});

interface Run {
  readonly importMs: number;
  readonly firstResponseMs: number;
  /** The bundle's V8 code cache: "used", "rejected", "missing"; "none" for the unbundled build. */
  readonly codeCache: string;
}

/** Which PostgreSQL the figures are of: its version and where it runs. */
async function describeDatabase(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>("show server_version");
    const { hostname, port, pathname } = new URL(url);
    return `PostgreSQL ${rows[0]!.server_version} at ${hostname}:${port || 5432}, scratch database ${pathname.slice(1)}`;
  } finally {
    await client.end();
  }
}

try {
  // The first start after a migration-free database has to create the tables: do it once, outside the figures.
  await coldStart("bundle");
  const runs: Record<keyof typeof TARGETS, Run[]> = { bundle: [], unbundled: [] };
  console.error(`Database: ${await describeDatabase(scratch.url)}.`);
  console.error(
    `Measuring ${RUNS} cold starts each of the bundle and the unbundled build on it; each is a fresh Node process (${process.version}).`,
  );
  for (let i = 0; i < RUNS; i++) {
    for (const target of i % 2 ? (["unbundled", "bundle"] as const) : (["bundle", "unbundled"] as const)) {
      const run = await coldStart(target);
      runs[target].push(run);
      const cache = target === "bundle" ? ` (code cache ${run.codeCache})` : "";
      console.error(
        `  run ${i + 1}/${RUNS} ${target.padEnd(9)}: import ${run.importMs.toFixed(0)} ms, first response ${run.firstResponseMs.toFixed(0)} ms${cache}`,
      );
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  for (const target of ["bundle", "unbundled"] as const) {
    const list = runs[target];
    const first = median(list.map((r) => r.firstResponseMs));
    const target250 = target === "bundle" ? ` (target 250 ms: ${first < 250 ? "met" : "not met"})` : "";
    console.log(
      `Lambda cold start, ${target} (${target === "bundle" ? "build/lambda/index.mjs" : "dist/lambda.js"}), PostgreSQL, median of ${RUNS}: import ${median(list.map((r) => r.importMs)).toFixed(0)} ms, first response ${first.toFixed(0)} ms${target250}`,
    );
  }
} finally {
  await jwks.close();
  await scratch.drop();
}

async function coldStart(target: keyof typeof TARGETS): Promise<Run> {
  const dataDir = tempDir("cold-");
  try {
    // Asynchronous: this process serves the key set the child fetches.
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", child(TARGETS[target])], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        LOG_LEVEL: "silent",
        COGNITO_USER_POOL_ID: TEST_POOL_ID,
        COGNITO_CLIENT_ID: TEST_CLIENT_ID,
        COGNITO_JWKS_URI: jwks.url,
        DATA_DIR: dataDir,
        DATABASE_URL: scratch.url,
        EVENT: JSON.stringify(event),
      },
      encoding: "utf8",
      timeout: 120_000,
    });
    return JSON.parse(stdout.trim().split("\n").at(-1)!) as Run;
  } finally {
    removeTempDir(dataDir);
  }
}
