import { request as httpRequest } from "node:http";
import type { GraphQLSchema } from "graphql";
import type { Logger } from "pino";
import { createApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import type { DevIssuer, RevocationCheck } from "../../src/auth/index.js";
import type { Db } from "../../src/data/database.js";
import type { RevocationSetup } from "../../src/revocations/setup.js";
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
  /**
   * Resolves once exactly `count` subscriptions receive events over WebSocket (the server's own count), so a test
   * publishes only after its subscribers listen, and sockets closed by an earlier test have let go. Rejects after 10 s.
   */
  waitForSubscribers(count: number): Promise<void>;
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
  let queries = 0;
  const scratch = options.postgresUrl ? await createTestDatabase(options.postgresUrl) : null;
  const kept = options.database;
  let app: App;
  try {
    // The product as main.ts builds it (readiness checks, shutdown bound, abort hook, subscriptions), with the
    // test's overrides: its own database, log, schema and revocation list.
    app = await createApp(config, {
      logger: options.logger ?? null,
      metrics: options.metrics === true,
      schema: options.schema,
      database: {
        url: kept && "url" in kept ? kept.url : (scratch?.url ?? null),
        pgliteDir: kept && "pgliteDir" in kept ? kept.pgliteDir : null,
        onQuery: () => queries++,
      },
      revocations: options.revocations,
    });
  } catch (error) {
    await scratch?.drop();
    throw error;
  }
  const server = await app.serve();
  const revocation = app.revocation!;
  const { devIssuer } = app;
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
    db: app.db,
    revocation,
    queryCount: () => queries,
    waitForSubscribers: async (count) => {
      const deadline = Date.now() + 10_000;
      while (server.subscribers() !== count) {
        if (Date.now() > deadline) throw new Error(`${server.subscribers()} of ${count} subscriptions listening after 10 s`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
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
      await app.close();
      await scratch?.drop();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
