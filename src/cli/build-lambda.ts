/**
 * `npm run build:lambda`: bundles the Lambda handlers (`src/lambda.ts`) with esbuild into one minified ES module
 * and makes `build/lambda/`, the folder to zip and deploy on the `nodejs24.x` runtime with the handler
 * `index.handler` (API Gateway HTTP API) or `index.albHandler` (ALB):
 *   index.mjs     the entry (+ index.mjs.map for stack traces, index.mjs.LEGAL.txt)
 *   chunks/       code the entry shares with later imports (loaded at start), and code loaded only when needed
 *                 (the AWS SDK's Cognito client for GetUser, Apollo's optional plugins)
 *   schema/       a copy of `schema/*.graphql`, read at start
 *
 * Why: a cold start of the unbundled handlers spends most of its time resolving, reading and compiling several
 * hundred files of `node_modules`; the bundle starts in less than half the time (README "Deploying").
 * (Shipping V8's compile cache too was tried: Node keys its cache folder by the user id, which Lambda does not
 * promise, so a cache made at build time would not be found.)
 *
 * Only what a deployed function uses goes in. Left out, each replaced by a module that fails with a sentence
 * saying what to set: the embedded database (PGlite: a function uses `DATABASE_URL`), the dev issuer and dev
 * seed (a function serves a configured pool), the pretty logger (a function logs JSON) and the Sandbox landing
 * page (a function serves no browser page). The PostgreSQL driver `pg` is bundled; its optional native binding
 * `pg-native` is not.
 */
import { cpSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { build, type Plugin } from "esbuild";

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
  /** The bundle's path. */
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
    outdir: outDir,
    entryNames: "index",
    outExtension: { ".js": ".mjs" },
    // What is loaded only when needed (the AWS SDK, for the customer's email) goes in a chunk of its own, so a
    // cold start does not read and compile it.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    platform: "node",
    target: "node24",
    format: "esm",
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
    // CommonJS dependencies call require() for Node's built-ins; an ES module has none, so give it one.
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  });
  cpSync(join(root, "schema"), join(outDir, "schema"), { recursive: true, filter: (path) => statSync(path).isDirectory() || path.endsWith(".graphql") });

  const bundle = join(outDir, "index.mjs");
  const inputs = Object.keys(result.metafile.inputs);
  log(`Bundled ${inputs.length} modules into index.mjs (${(statSync(bundle).size / 1024).toFixed(0)} KiB) in ${(performance.now() - started).toFixed(0)} ms.`);
  log(`Schema files: ${readdirSync(join(outDir, "schema")).join(", ")}.`);
  log(`Deploy ${shown(outDir)}/ (zip its contents) on nodejs24.x with handler index.handler (HTTP API) or index.albHandler (ALB).`);
  return { bundle, inputs };
}

if (process.argv[1] === import.meta.filename) {
  await buildLambda().catch((error: unknown) => {
    // esbuild has already printed its messages; one line says what failed.
    console.error(`build:lambda failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    process.exit(1);
  });
}
