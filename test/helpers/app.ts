import { request as httpRequest } from "node:http";
import type { GraphQLSchema } from "graphql";
import type { Logger } from "pino";
import { setUpAuth } from "../../src/auth-setup.js";
import { loadConfig } from "../../src/config.js";
import { Metrics } from "../../src/metrics.js";
import { buildSchema } from "../../src/graphql/schema.js";
import { startServer, type RunningServer } from "../../src/server.js";
import type { DevIssuer, RevocationCheck } from "../../src/auth/index.js";
import { openDatabase, type Db } from "../../src/data/database.js";
import { seedDevData } from "../../src/dev/seed.js";
import { setUpRevocation, type RevocationSetup } from "../../src/revocations/setup.js";
import { createTestDatabase } from "./database.js";
import { tempDir } from "./temp.js";

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed JSON body (undefined when not JSON). */
  readonly body: any;
}

export interface TestApp {
  readonly url: string;
  /** `ws://host:port/graphql`: subscriptions (graphql-ws). */
  readonly wsUrl: string;
  /** The metrics listener's URL (METRICS_PORT with `metrics: true`), or null. */
  readonly metricsUrl: string | null;
  readonly devIssuer: DevIssuer | null;
  /** The server's database, for asserting what was (not) written. */
  readonly db: Db;
  /** The server's session revocation (its list, revoker and sync). */
  readonly revocation: RevocationSetup;
  /** SQL statements run so far (for batching tests: read before and after one request). */
  readonly queryCount: () => number;
  /** POSTs a GraphQL request with JSON, plus any extra headers (give `authorization` for a token). */
  graphql(query: string, options?: { headers?: Record<string, string>; variables?: Record<string, unknown> }): Promise<TestResponse>;
  /** A raw request to the server, for the transport cases. */
  fetch(path: string, init?: RequestInit): Promise<TestResponse>;
  /** A request through node:http, which can repeat a header (fetch folds repeats into one). */
  raw(path: string, headers: Record<string, string | string[]>, body?: string): Promise<TestResponse>;
  close(): Promise<void>;
}

/**
 * Starts the real server on a free loopback port with the given environment (dev mode when no pool is set),
 * keys hydrated as in `npm start`. `schema` replaces the product schema (directive tests build their own).
 */
export interface StartOptions {
  /** Replaces the product schema (directive tests build their own). */
  readonly schema?: GraphQLSchema;
  /** A PostgreSQL server URL: the app gets a fresh database of its own there. Default: in-memory PGlite. */
  readonly postgresUrl?: string;
  /** Request and audit log. Default: none. */
  readonly logger?: Logger;
  /** Give the server Prometheus metrics, as main.ts does (served per METRICS_PORT and the posture). */
  readonly metrics?: boolean;
  /** Revoked sessions (a `RevocationList` the test adds to). Default: the server's own, which the revocation mutations fill. */
  readonly revocations?: RevocationCheck;
  /** An existing database kept across apps (a restart): a PostgreSQL database URL used as is, or a PGlite directory. */
  readonly database?: { readonly url: string } | { readonly pgliteDir: string };
}

export async function startApp(env: Record<string, string> = {}, options: StartOptions = {}): Promise<TestApp> {
  const config = loadConfig({ DATA_DIR: tempDir("api-test-"), ...env, PORT: env.PORT ?? "0", HOST: "127.0.0.1" });
  const { verifier, devIssuer, emailLookup } = setUpAuth(config);
  await verifier.hydrate();
  let queries = 0;
  const scratch = options.postgresUrl ? await createTestDatabase(options.postgresUrl) : null;
  const kept = options.database;
  const database = await openDatabase({
    url: kept && "url" in kept ? kept.url : (scratch?.url ?? null),
    pgliteDir: kept && "pgliteDir" in kept ? kept.pgliteDir : null,
    onQuery: () => queries++,
  });
  if (config.mode === "dev") await seedDevData(database.db);
  const schema = options.schema ?? buildSchema();
  const metrics = options.metrics ? new Metrics() : undefined;
  const revocation = await setUpRevocation(config, database, { logger: options.logger });
  const server: RunningServer = await startServer({
    config,
    schema,
    verifier,
    devIssuer,
    emailLookup,
    db: database.db,
    notifications: database.notifications(),
    // A test's own list replaces the one the revocation mutations write to.
    revocations: options.revocations ?? revocation.list,
    revoker: revocation.revoker,
    logger: options.logger,
    metrics,
    readinessChecks: { revocations: revocation.ready },
  });
  const base = server.url.replace(/\/graphql$/, "");
  const send = async (path: string, init?: RequestInit): Promise<TestResponse> => {
    const response = await fetch(base + path, init);
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, headers: response.headers, text, body };
  };
  return {
    url: server.url,
    wsUrl: server.url.replace(/^http/, "ws"),
    metricsUrl: server.metricsUrl,
    devIssuer,
    db: database.db,
    revocation,
    queryCount: () => queries,
    graphql: (query, opts = {}) =>
      send("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", ...opts.headers },
        body: JSON.stringify({ query, variables: opts.variables }),
      }),
    fetch: send,
    raw: (path, headers, body) =>
      new Promise((resolve, reject) => {
        const req = httpRequest(base + path, { method: body === undefined ? "GET" : "POST", headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(", ") : value);
            }
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: responseHeaders, text, body: parsed });
          });
        });
        req.on("error", reject);
        req.end(body);
      }),
    close: async () => {
      await server.close();
      revocation.sync.close();
      verifier.close();
      await database.close();
      await scratch?.drop();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
