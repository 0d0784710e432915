import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { generateRsaKey, jwksOf, TEST_CLIENT_ID, TEST_POOL_ID } from "../../helpers/keys.js";
import { openSocket } from "../../helpers/ws.js";

// Debian's chromium (.ci/run installs it). Without it these tests are reported as skipped, never as passed.
const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
// Sandbox itself is a script on Apollo's CDN (and a font from Google), which these machines cannot reach; the
// test blocks every other origin so that the result does not depend on the network. What is checked is what
// our server puts on the page.
const APOLLO_PAGE_ASSETS = /^[\w-]+\.cdn\.apollographql\.com$|^fonts\.googleapis\.com$/;

interface SandboxPage {
  readonly status: number | undefined;
  readonly contentType: string | undefined;
  /** Every URL the page asked our server for. */
  readonly requests: readonly string[];
  /** The hosts of every other request (blocked). */
  readonly elsewhere: ReadonlySet<string>;
  readonly errors: readonly string[];
  /** The globals of Apollo's page script, assigned before it calls the CDN's constructor. */
  readonly initialEndpoint: string | undefined;
  readonly config: { initialState?: { sharedHeaders?: Record<string, string>; document?: string }; runTelemetry?: boolean } | undefined;
}

describe.skipIf(!haveChromium)("Apollo Sandbox in headless Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    // Playwright gives each launch a fresh temporary profile (user-data dir).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  afterAll(() => browser?.close());

  async function open(url: string): Promise<SandboxPage> {
    const page = await browser.newPage();
    try {
      const requests: string[] = [];
      const elsewhere = new Set<string>();
      const errors: string[] = [];
      await page.route("**/*", (route) => {
        const target = new URL(route.request().url());
        if (target.origin === new URL(url).origin) {
          requests.push(target.href);
          return route.continue();
        }
        elsewhere.add(target.host);
        return route.abort("internetdisconnected");
      });
      page.on("pageerror", (error) => errors.push(error.message));
      const response = await page.goto(url, { waitUntil: "load" });
      const globals = await page.evaluate(() => {
        const g = globalThis as unknown as { initialEndpoint?: string; embeddedSandboxConfig?: SandboxPage["config"] };
        return { initialEndpoint: g.initialEndpoint, config: g.embeddedSandboxConfig };
      });
      return { status: response?.status(), contentType: response?.headers()["content-type"], requests, elsewhere, errors, ...globals };
    } finally {
      await page.close();
    }
  }

  describe("in dev mode", () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startApp();
    });
    afterAll(() => app.close());

    it("loads the page from our server with the endpoint and alice's token prefilled", async () => {
      const page = await open(app.url);
      expect(page.status).toBe(200);
      expect(page.contentType).toMatch(/^text\/html/);
      // The page is ours; the only other requests are for Apollo's page assets (Sandbox's script among them).
      expect(page.requests).toEqual([app.url]);
      expect([...page.elsewhere].filter((host) => !APOLLO_PAGE_ASSETS.test(host))).toEqual([]);
      expect(page.elsewhere.has("embeddable-sandbox.cdn.apollographql.com")).toBe(true);
      // The page's script ran up to the CDN's constructor, which is missing offline.
      expect(page.errors).toEqual([expect.stringMatching(/EmbeddedSandbox is not a constructor/)]);

      expect(page.initialEndpoint).toBe(app.url);
      expect(page.config?.runTelemetry).toBe(false);
      expect(page.config?.initialState?.document).toContain("query Me");
      const authorization = page.config?.initialState?.sharedHeaders?.Authorization;
      expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      const me = await app.graphql("{ me { username } }", { headers: { authorization: authorization! } });
      expect(me.body).toEqual({ data: { me: { username: "alice" } } });
    });

    it("offers a subscription that runs over WebSocket with the shared headers as connection_init's payload, as Sandbox sends them", async () => {
      const page = await open(app.url);
      const document = page.config?.initialState?.document ?? "";
      expect(document).toContain("subscription MyOrderEvents");
      const socket = await openSocket(app.wsUrl);
      await socket.init(page.config!.initialState!.sharedHeaders!);
      socket.send({ id: "1", type: "subscribe", payload: { query: document, operationName: "MyOrderEvents" } });
      await app.waitForSubscribers(1);
      const placed = await app.graphql(
        'mutation { placeOrder(input: { idempotencyKey: "sandbox-1", items: [{ productId: "prd-cable", quantity: 1 }] }) { id } }',
        {
          headers: { authorization: page.config!.initialState!.sharedHeaders!.Authorization! },
        },
      );
      const event = await socket.waitFor((m) => m.type === "next");
      expect(event.payload.data.myOrderEvents).toMatchObject({ kind: "PLACED", order: { id: placed.body.data.placeOrder.id } });
      socket.close();
    });

    it("mints a fresh token on every load, so an open tab never starts with an expired one", async () => {
      const first = (await open(app.url)).config?.initialState?.sharedHeaders?.Authorization;
      const second = (await open(app.url)).config?.initialState?.sharedHeaders?.Authorization;
      expect(second).not.toBe(first);
      const me = await app.graphql("{ me { username } }", { headers: bearer(second!.slice("Bearer ".length)) });
      expect(me.body.data.me).toEqual({ username: "alice" });
    });
  });

  describe("in production (a configured pool)", () => {
    let jwks: JwksServer;
    beforeAll(async () => {
      jwks = await startJwksServer(jwksOf(generateRsaKey()));
    });
    afterAll(() => jwks.close());
    const production = (extra: Record<string, string> = {}) =>
      startApp({
        NODE_ENV: "production",
        COGNITO_USER_POOL_ID: TEST_POOL_ID,
        COGNITO_CLIENT_ID: TEST_CLIENT_ID,
        COGNITO_JWKS_URI: jwks.url,
        ...extra,
      });

    it("serves no landing page", async () => {
      const app = await production();
      try {
        const page = await open(app.url);
        expect(page.config).toBeUndefined();
        expect(page.initialEndpoint).toBeUndefined();
        expect(page.status).toBe(400);
      } finally {
        await app.close();
      }
    });

    it("serves Sandbox with GRAPHQL_SANDBOX=true, with no token on the page", async () => {
      const app = await production({ GRAPHQL_SANDBOX: "true" });
      try {
        const page = await open(app.url);
        expect(page.status).toBe(200);
        expect(page.initialEndpoint).toBe(app.url);
        expect(page.config).toBeDefined();
        expect(page.config?.initialState?.sharedHeaders).toBeUndefined();
        // Sandbox reads the schema by introspection, which GRAPHQL_SANDBOX turns on.
        const introspection = await app.graphql("{ __schema { queryType { name } } }");
        expect(introspection.body).toEqual({ data: { __schema: { queryType: { name: "Query" } } } });
      } finally {
        await app.close();
      }
    });
  });
});
