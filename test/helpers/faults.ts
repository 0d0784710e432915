import pg from "pg";
import type { ServerProcess } from "./process.js";

/** One HTTP answer, parsed. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** POSTs a GraphQL request; `operationName` is left out unless given (the server must find it in the document). */
export async function gql(
  url: string,
  query: string,
  options: { token?: string; variables?: unknown; operationName?: string; timeoutMs?: number } = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    body: JSON.stringify({ query, variables: options.variables, operationName: options.operationName }),
    signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body };
}

/** GET of an operator endpoint (`/readyz`, `/healthz`) of the server at `graphqlUrl`. */
export async function probe(graphqlUrl: string, path: string): Promise<Answer> {
  const response = await fetch(graphqlUrl.replace(/\/graphql$/, path), { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/**
 * Polls `check` every `stepMs` until it returns true; returns the milliseconds it took. Throws after `timeoutMs`
 * with `what` (a bound, not a sleep: the loop ends as soon as the condition holds).
 */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 100): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The server's JSON log lines (production posture); other output is skipped. */
export function logLines(server: ServerProcess): Record<string, any>[] {
  return server
    .output()
    .split("\n")
    .flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as unknown;
        return typeof parsed === "object" && parsed !== null ? [parsed as Record<string, any>] : [];
      } catch {
        return [];
      }
    });
}

/** The first log line matching `predicate`, waited for (the child's output arrives through a pipe, after the answer). */
export async function waitForLog(
  server: ServerProcess,
  predicate: (line: Record<string, any>) => boolean,
  timeoutMs = 10_000,
): Promise<Record<string, any>> {
  let found: Record<string, any> | undefined;
  await waitUntil("log line", () => (found = logLines(server).find(predicate)) !== undefined, timeoutMs, 50);
  return found!;
}

/** An md5 of every row of every table of the shop: equal before and after means nothing was written. */
export async function checksums(client: pg.Client): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const table of ["products", "customers", "orders", "order_items"]) {
    const { rows } = await client.query(`select coalesce(md5(string_agg(t::text, '|' order by t::text)), '') as sum from ${table} t`);
    result[table] = rows[0].sum;
  }
  return result;
}

export const PLACE_ORDER = "mutation PlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { id totalCents } }";

/** The variables of a one-line order of `productId`. */
export const orderOf = (productId: string, idempotencyKey: string) => ({ input: { idempotencyKey, items: [{ productId, quantity: 1 }] } });

/** Whether the process is still running. */
export const alive = (server: ServerProcess) => server.child.exitCode === null && server.child.signalCode === null;

/** The error table's row for "database unreachable": 503, Retry-After, SERVICE_UNAVAILABLE, data null. */
export function expectServiceUnavailable(answer: Answer, expect: (v: unknown, m?: string) => any): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(503);
  expect(answer.headers.get("retry-after")).toMatch(/^\d+$/);
  expect(answer.body.data ?? null).toBeNull();
  expect(answer.body.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(["SERVICE_UNAVAILABLE"]);
}

/** The value of one series of the Prometheus exposition at `metricsUrl` (`name{labels}` exactly as exposed), or 0. */
export async function metricValue(metricsUrl: string, series: string): Promise<number> {
  const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/**
 * Polls pg_stat_activity of `database` every 50 ms, over `monitor` (a connection outside any transaction), for
 * connections "idle in transaction"; `stop()` answers the longest time one was seen in that state, in ms.
 */
export function watchIdleInTransaction(monitor: pg.Client, database: string): { stop(): Promise<number> } {
  let longest = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await monitor
        .query(
          "select coalesce(max(extract(epoch from clock_timestamp() - state_change) * 1000), 0)::float8 as ms from pg_stat_activity where datname = $1 and state = 'idle in transaction' and pid <> pg_backend_pid()",
          [database],
        )
        // A failed test may close the monitor first; the watch then just ends.
        .catch(() => ({ rows: [{ ms: 0 }], closed: (running = false) }));
      longest = Math.max(longest, Number(rows[0].ms));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return longest;
    },
  };
}

export const CATALOG = "query Catalog { products(first: 5) { edges { node { id name stock } } } }";

/** The 90th percentile of `values` (a single answer slowed by the shared machine's noise does not decide). */
export const p90 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.9) - 1]!;

/** Runs `loops` sequences of anonymous catalogue queries side by side while `busy()` holds (at most `max` each). */
export async function catalogueWhile(url: string, busy: () => boolean, loops = 3, max = 30): Promise<{ status: number; ms: number }[]> {
  const answers: { status: number; ms: number }[] = [];
  await Promise.all(
    Array.from({ length: loops }, async () => {
      for (let i = 0; i < max && busy(); i++) {
        const started = performance.now();
        const answer = await gql(url, CATALOG);
        answers.push({ status: answer.status, ms: Math.round(performance.now() - started) });
      }
    }),
  );
  return answers;
}
