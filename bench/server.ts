/**
 * One server variant of the benchmark, as a child process of bench/bench.ts (so that the load generator and
 * the server run on separate cores). Variants:
 *   auth-on   the product as deployed: production mode, a configured pool whose key set is served locally, built
 *             as main.ts builds it (request and audit log at LOG_LEVEL's default into a discarded stream, Prometheus
 *             metrics, readiness checks, GraphQL limits, session revocation with BENCH_REVOCATIONS records of other
 *             subjects loaded and notifications on)
 *   auth-off  the same server with auth switched off: no rules in the schema, no token verification
 *   yoga      the peer: GraphQL Yoga with @graphql-yoga/plugin-jwt, same schema, resolvers, data and tokens
 *   floor     stock Apollo Server's standalone server with the same schema and resolvers and nothing else: no
 *             auth, limits, logging or metrics (what the framework costs on its own)
 * It reports its port, then answers `stats` messages with its CPU time (user + system, and system alone) and SQL
 * statement count, `memory` with its
 * resident, heap used and heap committed bytes after a full collection, `gc` once a full collection is done (the
 * last two need node --expose-gc), and `reload` (auth-on) with whether a revocation reload, as its timer runs it,
 * succeeded and the process CPU time it took.
 */
import { createServer } from "node:http";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import type { AddressInfo } from "node:net";
import { createRemoteJwksSigningKeyProvider, extractFromHeader, useJWT } from "@graphql-yoga/plugin-jwt";
import { createYoga } from "graphql-yoga";
import { RequestAuth, type Principal, type TokenVerifier } from "../src/auth/index.js";
import { principalFromClaims, type VerifiedClaims } from "../src/auth/principal.js";
import { createApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { openDatabase, type Db } from "../src/data/database.js";
import { createLoaders } from "../src/data/loaders.js";
import type { AppContext } from "../src/graphql/context.js";
import { createLogger, logDestination } from "../src/logger.js";
import { BENCH_CLIENT_ID, BENCH_POOL_ID, benchSchema, seedBenchData, USERS } from "./fixture.js";

const variant = process.argv[2] as "auth-on" | "auth-off" | "yoga" | "floor";
const jwksUrl = process.env.BENCH_JWKS_URL!;
let queries = 0;
/**
 * Revocation records present while auth-on is measured (none matches a bench user: they pay the lookup only);
 * BENCH_REVOCATIONS=0 adds none to those already stored (bench/revocation.ts stores its own).
 */
const BENCH_REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 5000);
// PostgreSQL when the bench gives one (instruction counts: PGlite's WebAssembly would run inside the counted
// process, and start very slowly under valgrind), else an in-memory PGlite.
/** The floor's and the peer's database (the product's own is opened by createApp with the same options). */
async function openBenchDatabase(): Promise<Db> {
  const database = await openDatabase({ url: process.env.BENCH_DATABASE_URL ?? null, pgliteDir: null, onQuery: () => queries++ });
  await seedBenchData(database.db);
  return database.db;
}

const config = loadConfig({
  NODE_ENV: "production",
  COGNITO_USER_POOL_ID: BENCH_POOL_ID,
  COGNITO_CLIENT_ID: BENCH_CLIENT_ID,
  COGNITO_JWKS_URI: jwksUrl,
  HOST: "127.0.0.1",
  PORT: "0",
  // --instructions counts the periodic reload on its own and keeps it out of the request cells (instruction-cells.ts).
  ...(process.env.BENCH_REVOCATION_RELOAD_SECONDS ? { REVOCATION_RELOAD_SECONDS: process.env.BENCH_REVOCATION_RELOAD_SECONDS } : {}),
  // Decision records' cost: `AUTH_AUDIT=all npm run bench` against the default (denied).
  ...(process.env.AUTH_AUDIT ? { AUTH_AUDIT: process.env.AUTH_AUDIT } : {}),
});

let port: number;
/** auth-on's periodic revocation reload, which `reload` messages run on demand. */
let reloadRevocations: (() => Promise<boolean>) | undefined;
if (variant === "yoga") {
  port = await startYoga(await openBenchDatabase());
} else if (variant === "floor") {
  port = await startFloor(await openBenchDatabase());
} else {
  // The product as main.ts builds it (createApp), but the log lines go nowhere: written (at the default level,
  // with the same asynchronous writes as to stdout) and dropped, so the bench measures the logging, not a terminal.
  const authOn = variant === "auth-on";
  const app = await createApp(config, {
    logger: createLogger(true, config.logLevel, logDestination("/dev/null")),
    schema: benchSchema(authOn),
    // No network here: placeOrder records no email, as before the composition root.
    emailLookup: null,
    database: { url: process.env.BENCH_DATABASE_URL ?? null, pgliteDir: null, onQuery: () => queries++ },
    seed: async ({ db }) => {
      await seedBenchData(db);
      if (authOn) await seedRevocations(db);
    },
    // auth-off: no verification, no revocations, no load shedding; subscriptions over WebSocket only as deployed
    // (auth-on).
    ...(authOn ? {} : { verifier: trustingVerifier(), revocation: false, notifications: false, shed: false }),
  });
  const sync = app.revocation?.sync;
  reloadRevocations = sync && (() => sync.reload());
  const server = await app.serve();
  port = Number(new URL(server.url).port);
}

process.send!({ type: "ready", port });
// A clean exit on SIGINT lets `node --cpu-prof` write its profile.
process.once("SIGINT", () => process.exit(0));
process.on("message", (message: { type: string }) => {
  if (message.type === "stats") {
    const cpu = process.cpuUsage();
    process.send!({ type: "stats", cpuMicros: cpu.user + cpu.system, systemMicros: cpu.system, queries });
  } else if (message.type === "memory") {
    (globalThis as { gc?: () => void }).gc?.();
    const { rss, heapUsed, heapTotal } = process.memoryUsage();
    process.send!({ type: "memory", rss, heapUsed, heapTotal });
  } else if (message.type === "reload") {
    const before = process.cpuUsage();
    void (reloadRevocations?.() ?? Promise.resolve(false)).then((ok) => {
      const cpu = process.cpuUsage(before);
      process.send!({ type: "reload", ok, cpuMicros: cpu.user + cpu.system });
    });
  } else if (message.type === "gc") {
    // Instruction counts start from a collected heap (node --expose-gc), so no collection owed to the start-up
    // or the warm-up lands in the counted requests.
    (globalThis as { gc?: () => void }).gc?.();
    process.send!({ type: "gc-done" });
  }
});

/** Stores BENCH_REVOCATIONS revocations of other subjects, half whole subjects and half single sessions, once. */
async function seedRevocations(db: Db): Promise<void> {
  const { count } = await db
    .selectFrom("revocations")
    .select((eb) => eb.fn.countAll<string>().as("count"))
    .executeTakeFirstOrThrow();
  const expiresAt = new Date(Date.now() + 86_400_000);
  const missing = BENCH_REVOCATIONS - Number(count);
  for (let start = 0; start < missing; start += 1000) {
    const rows = Array.from({ length: Math.min(1000, missing - start) }, (_, i) => {
      const n = Number(count) + start + i;
      return {
        sub: `revoked-${n}`,
        sessionId: n % 2 ? `session-${n}` : null,
        revokedBefore: n % 2 ? null : new Date(),
        expiresAt,
        revokedBy: "bench",
        cognitoSignedOut: false,
      };
    });
    await db.insertInto("revocations").values(rows).execute();
  }
}

/** Auth off: every request is the admin, nothing is verified (the baseline). */
function trustingVerifier(): TokenVerifier {
  const admin = adminPrincipal();
  return {
    hydrate: async () => undefined,
    verify: async () => admin,
    refreshKeys: async () => 0,
    keysLoaded: () => true,
    close: () => undefined,
  };
}

function adminPrincipal(): Principal {
  return principalFromClaims({
    sub: USERS.admin.sub,
    iss: "bench",
    exp: 4_000_000_000,
    iat: 1_700_000_000,
    token_use: "access",
    client_id: BENCH_CLIENT_ID,
    username: USERS.admin.username,
    "cognito:groups": USERS.admin.groups,
    scope: "",
  });
}

/**
 * Stock Apollo Server: its standalone HTTP server and defaults, the schema without rules, and (as auth-off) every
 * request is the admin without any verification, so the resolvers produce the same answers.
 */
async function startFloor(db: Db): Promise<number> {
  const apollo = new ApolloServer<AppContext>({ schema: benchSchema(false) });
  const admin = adminPrincipal();
  const { url } = await startStandaloneServer(apollo, {
    listen: { port: 0, host: "127.0.0.1" },
    context: async () => ({
      principal: admin,
      auth: new RequestAuth(admin, { explain: false }),
      db,
      loaders: createLoaders(db),
      callerEmail: async () => null,
      afterCommit: (action) => action(),
    }),
  });
  return Number(new URL(url).port);
}

async function startYoga(db: Db): Promise<number> {
  const issuer = `https://cognito-idp.us-east-1.amazonaws.com/${BENCH_POOL_ID}`;
  const yoga = createYoga<Record<string, unknown>>({
    schema: benchSchema(true),
    logging: false,
    maskedErrors: true,
    plugins: [
      useJWT({
        signingKeyProviders: [createRemoteJwksSigningKeyProvider({ jwksUri: jwksUrl, cache: true, rateLimit: true })],
        tokenLookupLocations: [extractFromHeader({ name: "authorization", prefix: "Bearer" })],
        tokenVerification: { issuer, algorithms: ["RS256"] },
        reject: { missingToken: false, invalidToken: true },
      }),
    ],
    // The same context our resolvers and directive need, built from the claims plugin-jwt verified.
    context: (initial): AppContext => {
      const jwt = (initial as { jwt?: { payload: Record<string, unknown> } }).jwt;
      const principal = jwt ? principalFromClaims(jwt.payload as unknown as VerifiedClaims) : null;
      return {
        principal,
        auth: new RequestAuth(principal, { explain: false }),
        db,
        loaders: createLoaders(db),
        callerEmail: async () => null,
        afterCommit: (action) => action(),
      };
    },
  });
  const server = createServer((req, res) => void yoga(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}
