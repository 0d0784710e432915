/**
 * `npm run build:lambda`: bundles the Lambda handlers (`src/lambda.ts`) with esbuild into one minified script and
 * makes `build/lambda/`, the folder to zip and deploy on the `nodejs24.x` runtime with the handler
 * `index.handler` (API Gateway HTTP API) or `index.albHandler` (ALB):
 *   index.mjs     the entry: compiles app.cjs with V8's code cache and exports its handlers
 *   app.cjs       the bundle, one CommonJS module (+ app.cjs.map for stack traces, app.cjs.LEGAL.txt)
 *   app.cjs.cache V8's code cache of app.cjs, made at build time by one cold start against a local key set and
 *                 an in-memory PGlite served over the PostgreSQL protocol
 *   schema/       a copy of `schema/*.graphql`, read at start
 *
 * Why: a cold start of the unbundled handlers spends most of its time resolving, reading and compiling several
 * hundred files of `node_modules`; the bundle starts in less than half the time, and its code cache saves most
 * of the compiling that is left (docs/performance.md, "Lambda cold start"). Node's own compile cache (`module.enableCompileCache`) is
 * not used: on Node 24 it keeps its entries in a folder named after the user id (`v24.x-x64-<tag>-<uid>`), even
 * when portable, and Lambda does not promise which user id a function runs as. `vm.Script`'s `cachedData` has no
 * such key; V8 refuses a cache made by another V8 version or with other V8 flags, and the entry then compiles as
 * usual (and says so in one log line).
 *
 * Only what a deployed function uses goes in. Left out, each replaced by a module that fails with a sentence
 * saying what to set: the embedded database (PGlite: a function uses `DATABASE_URL`), the dev issuer and dev
 * seed (a function serves a configured pool), the pretty logger (a function logs JSON) and the Sandbox landing
 * page (a function serves no browser page). The PostgreSQL driver `pg` is bundled; its optional native binding
 * `pg-native` is not.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { build, type Plugin } from "esbuild";
import { Kysely } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import { signJwt } from "../auth/index.js";
import { migrateToLatest } from "../data/migrations.js";

const root = join(import.meta.dirname, "..", "..");

/** Module path pattern -> the module the bundle gets instead, and why. */
const LEFT_OUT: ReadonlyArray<{ filter: RegExp; contents: string }> = [
  {
    filter: /^(@electric-sql\/pglite|kysely-pglite-dialect)$/,
    contents: throwing("the embedded database (PGlite) is not in the Lambda bundle: set DATABASE_URL to a PostgreSQL server"),
  },
  {
    filter: /^pino-pretty$/,
    contents: `export default function pretty() { ${throwing("the pretty logger is not in the Lambda bundle: Lambda logs JSON (set NODE_ENV=production)")} }`,
  },
  {
    // Ours and Apollo Server's own import of it (its default, which our landing-page plugin always replaces).
    filter: /(^@apollo\/server|^\.)\/plugin\/landingPage\/default(\/index\.js)?$/,
    contents: `export function ApolloServerPluginLandingPageLocalDefault() { ${throwing("Apollo Sandbox is not in the Lambda bundle: unset GRAPHQL_SANDBOX")} }
export const ApolloServerPluginLandingPageProductionDefault = ApolloServerPluginLandingPageLocalDefault;`,
  },
  {
    filter: /(^|\/)dev-issuer\.js$/,
    contents: `const NO_DEV = ${JSON.stringify(devOnly())};
export const DEV_USER_POOL_ID = "xx-local-1_DevPool";
export class DevKeysFileError extends Error {}
export class DevIssuer { static load() { throw new Error(NO_DEV); } }
export function signJwt() { throw new Error(NO_DEV); }`,
  },
  {
    filter: /(^|\/)dev\/seed\.js$/,
    contents: `export async function seedDevData() { throw new Error(${JSON.stringify(devOnly())}); }`,
  },
];

function devOnly(): string {
  return "dev mode (the built-in dev issuer) is not in the Lambda bundle: set COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID";
}
function throwing(message: string): string {
  return `throw new Error(${JSON.stringify(message)});`;
}

const leaveOut: Plugin = {
  name: "leave-out",
  setup(builder) {
    LEFT_OUT.forEach(({ filter, contents }, index) => {
      builder.onResolve({ filter }, (args) => ({ path: `${index}:${args.path}`, namespace: "left-out" }));
      builder.onLoad({ filter: new RegExp(`^${index}:`), namespace: "left-out" }, () => ({ contents, loader: "js" }));
    });
  },
};

/** A folder as the user would type it: relative inside the repository, absolute elsewhere. */
const shown = (dir: string) => (relative(root, dir).startsWith("..") ? dir : relative(root, dir));

export interface LambdaBuild {
  /** The entry's path (`index.mjs`), which the Lambda runtime imports. */
  readonly bundle: string;
  /** Every source file in the bundle, relative to the repository (`node_modules/pg/lib/client.js`, `src/...`). */
  readonly inputs: readonly string[];
}

/**
 * Empties `outDir` (default `build/lambda`), bundles into it and copies the schema; `log` gets progress lines.
 * Throws esbuild's error (its messages already printed) when the build fails.
 */
export async function buildLambda(outDir = join(root, "build", "lambda"), log: (line: string) => void = console.log): Promise<LambdaBuild> {
  const started = performance.now();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  log(`Bundling src/lambda.ts with esbuild into ${shown(outDir)}/ ...`);
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, "src", "lambda.ts")],
    outfile: join(outDir, "app.cjs"),
    bundle: true,
    platform: "node",
    target: "node24",
    // A script, not an ES module: only a script can be compiled with a code cache (vm.Script). The code loaded
    // only when needed (the AWS SDK, for the customer's email) is in it too but not compiled until then.
    format: "cjs",
    define: { "import.meta.dirname": "__dirname" },
    minify: true,
    sourcemap: "linked",
    legalComments: "linked",
    metafile: true,
    logLevel: "warning",
    // One graphql-js for everyone: Apollo Server and graphql-tools load its CommonJS build, so the bundle must not
    // take the ES module build for our own imports, or graphql-js sees two realms.
    mainFields: ["main"],
    external: ["pg-native"],
    plugins: [leaveOut],
  });
  cpSync(join(root, "schema"), join(outDir, "schema"), {
    recursive: true,
    filter: (path) => statSync(path).isDirectory() || path.endsWith(".graphql"),
  });
  const bundle = join(outDir, "index.mjs");
  writeFileSync(bundle, entrySource());
  const inputs = Object.keys(result.metafile.inputs);
  log(
    `Bundled ${inputs.length} modules into app.cjs (${(statSync(join(outDir, "app.cjs")).size / 1024).toFixed(0)} KiB) in ${(performance.now() - started).toFixed(0)} ms.`,
  );
  log(`Schema files: ${readdirSync(join(outDir, "schema")).join(", ")}.`);
  const cacheStarted = performance.now();
  await makeCodeCache(outDir);
  log(
    `Made V8's code cache app.cjs.cache (${(statSync(join(outDir, "app.cjs.cache")).size / 1024).toFixed(0)} KiB, Node ${process.version}) from one cold start in ${(performance.now() - cacheStarted).toFixed(0)} ms.`,
  );
  log(`Deploy ${shown(outDir)}/ (zip its contents) on nodejs24.x with handler index.handler (HTTP API) or index.albHandler (ALB).`);
  return { bundle, inputs };
}

/**
 * `index.mjs`: compiles `app.cjs` as Node compiles a CommonJS module, but with the code cache beside it. Without
 * the cache, or when V8 refuses it (another Node version, other V8 flags), V8 compiles the code as usual: slower,
 * never wrong. With `--enable-source-maps` the module is loaded by Node's own loader, which applies the source map
 * to stack traces (it does not for `vm.Script`), and the cache is not used.
 */
function entrySource(): string {
  return `// Made by npm run build:lambda (src/cli/build-lambda.ts).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { constants, Script } from "node:vm";

const filename = join(import.meta.dirname, "app.cjs");
const require = createRequire(filename);
let app;
/** Whether V8 took app.cjs.cache: "used", "rejected", "missing" or "off" (source maps). */
export let codeCache = "off";
if (process.sourceMapsEnabled) {
  app = require(filename);
} else {
  let cachedData;
  try {
    cachedData = readFileSync(filename + ".cache");
  } catch {}
  const script = compile(filename, cachedData);
  codeCache = !cachedData ? "missing" : script.cachedDataRejected ? "rejected" : "used";
  if (codeCache === "rejected") {
    console.warn(JSON.stringify({ level: 40, time: Date.now(), event: "lambda.code_cache_rejected", msg: "V8 refused app.cjs.cache (made with Node ${process.version}, running " + process.version + "): this cold start compiles all code; build with the runtime's Node version" }));
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, require, module, filename, import.meta.dirname);
  app = module.exports;
}
export const { handler, albHandler } = app;

${COMPILE}`;
}

/**
 * How the entry and the build's cold start compile `app.cjs`, alike on both sides (a code cache fits only the
 * code it was made from): wrapped as Node's CommonJS loader wraps a module, `lineOffset` keeping stack traces'
 * line numbers. Needs `readFileSync` (node:fs), `Script` and `constants` (node:vm).
 */
const COMPILE = `function compile(filename, cachedData) {
  const code = "(function (exports, require, module, __filename, __dirname) {\\n" + readFileSync(filename, "utf8") + "\\n})";
  return new Script(code, { filename, lineOffset: -1, cachedData, importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
}
`;

/**
 * Makes `app.cjs.cache`: a fresh Node process compiles app.cjs as the entry does, answers one API Gateway event
 * with a verified token (key set from a local server, the shop's tables in an in-memory PGlite served over the PostgreSQL
 * protocol, already migrated as a deployed database is), and then saves V8's code for every function compiled so
 * far: loading, set-up, schema, Apollo and the request.
 */
async function makeCodeCache(outDir: string): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomUUID();
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] });
  const keyServer = createServer((_request, response) => response.writeHead(200, { "content-type": "application/json" }).end(jwks));
  await new Promise<void>((resolve) => keyServer.listen(0, "127.0.0.1", resolve));
  const pglite = new PGlite();
  const db = new Kysely<unknown>({ dialect: new PGliteDialect(pglite) });
  const dbServer = new PGLiteSocketServer({ db: pglite, host: "127.0.0.1", port: 0, maxConnections: 2 });
  try {
    await migrateToLatest(db);
    await dbServer.start();
    const poolId = "us-east-1_CodeCache";
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      sub: "code-cache",
      iss: `https://cognito-idp.us-east-1.amazonaws.com/${poolId}`,
      client_id: "codecache",
      token_use: "access",
      username: "code-cache",
      scope: "openid",
      iat: now,
      exp: now + 300,
    };
    const event = JSON.parse(readFileSync(join(root, "test", "fixtures", "http-api-v2-event.json"), "utf8"));
    event.headers.authorization = `Bearer ${signJwt({ kid, alg: "RS256" }, claims, privateKey)}`;
    event.body = JSON.stringify({ query: "{ me { sub } products(first: 5) { edges { node { id name priceCents } } } }" });
    const script = `
      import { readFileSync, writeFileSync } from "node:fs";
      import { createRequire } from "node:module";
      import { constants, Script } from "node:vm";
      ${COMPILE}
      const filename = ${JSON.stringify(join(outDir, "app.cjs"))};
      const script = compile(filename);
      const module = { exports: {} };
      script.runInThisContext()(module.exports, createRequire(filename), module, filename, ${JSON.stringify(outDir)});
      const result = await module.exports.handler(JSON.parse(process.env.EVENT), { awsRequestId: "code-cache" });
      if (result.statusCode !== 200 || JSON.parse(result.body).errors) throw new Error("the code cache's cold start failed: " + result.body);
      writeFileSync(filename + ".cache", script.createCachedData());
      process.exit(0);`;
    await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        LOG_LEVEL: "silent",
        COGNITO_USER_POOL_ID: poolId,
        COGNITO_CLIENT_ID: "codecache",
        COGNITO_JWKS_URI: `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/jwks.json`,
        DATABASE_URL: `postgres://postgres@${dbServer.getServerConn()}/postgres`,
        EVENT: JSON.stringify(event),
      },
      timeout: 60_000,
    });
  } finally {
    await dbServer.stop();
    await db.destroy();
    keyServer.close();
  }
}

if (process.argv[1] === import.meta.filename) {
  await buildLambda().catch((error: unknown) => {
    // esbuild has already printed its messages; one line says what failed.
    console.error(`build:lambda failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    process.exit(1);
  });
}
