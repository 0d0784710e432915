/**
 * `npm run bench:lambda`: the Lambda handler's cold start, import to first response, in fresh Node processes
 * running the built JavaScript (`npm run build` first), in Cognito mode with the key set served locally.
 * Uses PostgreSQL when TEST_DATABASE_URL is set (as a deployed function would), else embedded PGlite.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "../test/helpers/database.js";
import { startJwksServer } from "../test/helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID } from "../test/helpers/keys.js";

const RUNS = Number(process.env.RUNS ?? 5);
const root = join(import.meta.dirname, "..");
const key = generateRsaKey();
const jwks = await startJwksServer(jwksOf(key));
const scratch = process.env.TEST_DATABASE_URL ? await createTestDatabase(process.env.TEST_DATABASE_URL) : null;
const event = JSON.parse(readFileSync(join(root, "test/fixtures/http-api-v2-event.json"), "utf8"));
event.body = JSON.stringify({ query: "{ me { sub } products(first: 5) { edges { node { name } } } }" });
event.headers.authorization = `Bearer ${signToken(key, accessClaims())}`;

// The child measures from its own start (performance.timeOrigin) to the first answer, and checks the answer.
const child = `
  const started = performance.now();
  const { handler } = await import(${JSON.stringify(join(root, "dist/lambda.js"))});
  const imported = performance.now();
  const result = await handler(JSON.parse(process.env.EVENT), { awsRequestId: "cold" });
  if (result.statusCode !== 200) throw new Error(result.body);
  console.log(JSON.stringify({ processToImport: started, importMs: imported - started, firstResponseMs: performance.now() - started }));
  process.exit(0);
`;

// Every run's DATA_DIR (a 38 MB embedded database on PGlite) is removed after the run, also when it fails.
const dataDirs: string[] = [];
const removeDataDirs = () => {
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
};
process.once("SIGINT", () => {
  removeDataDirs();
  process.exit(130);
});

try {
  const runs = [];
  console.error(`Measuring ${RUNS} cold starts (${scratch ? "PostgreSQL" : "embedded PGlite"}); each is a fresh Node process.`);
  for (let i = 0; i < RUNS; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), "cold-"));
    dataDirs.push(dataDir);
    // Asynchronous: this process serves the key set the child fetches.
    const { stdout: output } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", child], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        LOG_LEVEL: "silent",
        COGNITO_USER_POOL_ID: TEST_POOL_ID,
        COGNITO_CLIENT_ID: TEST_CLIENT_ID,
        COGNITO_JWKS_URI: jwks.url,
        DATA_DIR: dataDir,
        ...(scratch ? { DATABASE_URL: scratch.url } : {}),
        EVENT: JSON.stringify(event),
      },
      encoding: "utf8",
      timeout: 120_000,
    });
    removeDataDirs();
    const run = JSON.parse(output.trim().split("\n").at(-1)!) as { importMs: number; firstResponseMs: number };
    runs.push(run);
    console.error(`  run ${i + 1}/${RUNS}: import ${run.importMs.toFixed(0)} ms, first response ${run.firstResponseMs.toFixed(0)} ms`);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(`Lambda cold start over ${RUNS} runs (${scratch ? "PostgreSQL" : "PGlite"}), median: import ${median(runs.map((r) => r.importMs)).toFixed(0)} ms, import to first response ${median(runs.map((r) => r.firstResponseMs)).toFixed(0)} ms`);
} finally {
  removeDataDirs();
  await jwks.close();
  await scratch?.drop();
}
