/**
 * What the modes of one `npm run bench` run (bench/bench.ts) share: the RSA key its tokens are signed with, the
 * JWKS server that serves the key's public half to the servers under test, the tokens (the bench users', and
 * never-seen ones minted on demand), the scenarios and the server variants each runs on (as `--only` and
 * `--variants` pick them), and where the run's raw figures are written.
 */
import { randomUUID } from "node:crypto";
import { startJwksServer, type JwksServer } from "../test/helpers/jwks-server.js";
import { generateRsaKey, jwksOf, signToken, type TestKey } from "../test/helpers/keys.js";
import { BENCH_CLIENT_ID, BENCH_ITEMS, BENCH_POOL_ID, USERS } from "./fixture.js";
import { writeResults as writeResultsFile } from "./results-file.js";

export const VARIANTS = ["auth-off", "auth-on", "yoga", "floor"] as const;
export type Variant = (typeof VARIANTS)[number];

export interface Scenario {
  readonly name: string;
  readonly variants: readonly Variant[];
  /** The token of request n. */
  readonly token: (n: number) => string;
  readonly body: (n: number) => string;
  /** Every request carries a token never sent before (minted ahead, outside the measurement). */
  readonly distinct?: true;
  /** A request of ~15M instructions (a 1,000-item list): fewer warm-up and counted requests under --instructions. */
  readonly large?: true;
}

export const ORDERS_PAGE =
  "{ orders(first: 50) { edges { node { id status totalCents items { quantity product { name priceCents } } } } } }";

/** How a run was asked for: the flags every mode reads. */
export interface BenchOptions {
  readonly quick: boolean;
  /** `--only`: the scenarios (and `--instructions` cells) to run; all when undefined. */
  readonly only: readonly string[] | undefined;
  /** `--variants`: the variants to run; all when undefined. */
  readonly onlyVariants: readonly string[] | undefined;
  /** Servers run on core 0 (the load generator, this process, on core 1). */
  readonly pinning: boolean;
}

/** One run's shared fixture; `openBenchRun` makes it, and whoever made it closes `jwks` at the end. */
export interface BenchRun extends BenchOptions {
  readonly key: TestKey;
  readonly jwks: JwksServer;
  readonly adminToken: string;
  /** The scenarios to run, each with only the variants to run. */
  readonly scenarios: readonly Scenario[];
  /**
   * The tokens of a distinct-token scenario's requests, by request number: each measurement of such a scenario
   * sets them (`mintDistinct`) before it starts, and the scenario's `token` reads them.
   */
  distinctTokens: string[];
  /**
   * Tokens of users the server has never seen, each signed once: a distinct `sub`, the same groups as a customer.
   * Minted ahead of a measurement, since signing (RSA private key) costs the client far more than verifying costs
   * the server.
   */
  readonly mintDistinct: (count: number) => string[];
  /** Writes one run's raw figures under bench/results/ (not committed) and returns the file's path. */
  readonly writeResults: (kind: string, results: object) => string;
}

/** Makes the run's key and tokens and starts its JWKS server. */
export async function openBenchRun(options: BenchOptions): Promise<BenchRun> {
  const key = generateRsaKey();
  const jwks = await startJwksServer(jwksOf(key));
  const issuer = `https://cognito-idp.us-east-1.amazonaws.com/${BENCH_POOL_ID}`;
  const now = Math.floor(Date.now() / 1000);
  const tokenOf = (user: { sub: string; username: string; groups: readonly string[] }) =>
    signToken(key, {
      sub: user.sub,
      iss: issuer,
      client_id: BENCH_CLIENT_ID,
      token_use: "access",
      scope: "openid",
      username: user.username,
      "cognito:groups": user.groups,
      iat: now,
      exp: now + 3600,
      jti: randomUUID(),
    });
  const adminToken = tokenOf(USERS.admin);
  const customerToken = tokenOf(USERS.customer);
  const mintDistinct = (count: number) => {
    const batch = randomUUID().slice(0, 8);
    return Array.from({ length: count }, (_, i) => tokenOf({ sub: `bench-distinct-${batch}-${i}`, username: `distinct-${i}`, groups: [] }));
  };
  const scenarios = allScenarios(adminToken, customerToken, (n) => run.distinctTokens[n]!)
    .filter((scenario) => !options.only || options.only.includes(scenario.name))
    .map((scenario) => ({
      ...scenario,
      variants: scenario.variants.filter((variant) => !options.onlyVariants || options.onlyVariants.includes(variant)),
    }));
  const run: BenchRun = {
    ...options,
    key,
    jwks,
    adminToken,
    scenarios,
    distinctTokens: [],
    mintDistinct,
    writeResults: (kind, results) => writeResultsFile(kind, options.quick, { listItems: BENCH_ITEMS, ...results }),
  };
  return run;
}

function allScenarios(adminToken: string, customerToken: string, distinctToken: (n: number) => string): Scenario[] {
  return [
    { name: "me", variants: VARIANTS, token: () => adminToken, body: () => JSON.stringify({ query: "{ me { sub username groups } }" }) },
    {
      name: "me-distinct",
      variants: ["auth-on", "yoga"],
      token: distinctToken,
      body: () => JSON.stringify({ query: "{ me { sub username groups } }" }),
      distinct: true,
    },
    {
      name: "list-allowed",
      variants: VARIANTS,
      large: true,
      token: () => adminToken,
      body: () => JSON.stringify({ query: "{ benchItems { id name secret } }" }),
    },
    {
      name: "list-denied",
      variants: ["auth-on", "yoga"],
      large: true,
      token: () => customerToken,
      body: () => JSON.stringify({ query: "{ benchItems { id name secret } }" }),
    },
    { name: "orders-page", variants: VARIANTS, token: () => adminToken, body: () => JSON.stringify({ query: ORDERS_PAGE }), large: true },
    {
      name: "mutation",
      variants: ["auth-off", "auth-on", "yoga"],
      token: () => adminToken,
      body: (n) =>
        JSON.stringify({
          query: "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id totalCents } }",
          variables: { input: { idempotencyKey: `bench-${randomUUID()}-${n}`, items: [{ productId: "prd-cable", quantity: 1 }] } },
        }),
    },
  ];
}
