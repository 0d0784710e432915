import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { createHttpHandler } from "../../../src/http/index.js";
import { startApp } from "../../helpers/app.js";

const APP = "https://app.example.com";
const PREFLIGHT = { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" };
const QUERY = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ hello }" }) };
const CORS_HEADERS = [
  "access-control-allow-origin",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "access-control-max-age",
  "access-control-allow-credentials",
  "access-control-expose-headers",
];
const corsOf = (response: Response) =>
  Object.fromEntries(CORS_HEADERS.flatMap((name) => (response.headers.has(name) ? [[name, response.headers.get(name)]] : [])));

let running: { server: Server; apollo: ApolloServer } | undefined;
afterEach(async () => {
  if (!running) return;
  await new Promise((resolve) => running!.server.close(resolve));
  await running.apollo.stop();
  running = undefined;
});

/** The HTTP integration over a real socket, with the CORS policy that `CORS_ORIGINS` configures. */
async function serve(env: Record<string, string>): Promise<string> {
  const apollo = new ApolloServer({ typeDefs: "type Query { hello: String }", resolvers: { Query: { hello: () => "world" } } });
  await apollo.start();
  const handler = createHttpHandler({
    apollo,
    context: async () => ({}),
    readiness: async () => ({ ready: true, checks: {} }),
    corsOrigins: loadConfig(env).corsOrigins,
  });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  running = { server, apollo };
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

describe("CORS on /graphql", () => {
  it("answers a listed origin's preflight with 204, the allowed methods and headers, and no credentials", async () => {
    const url = await serve({ CORS_ORIGINS: `${APP},http://localhost:5173` });
    const response = await fetch(url, { method: "OPTIONS", headers: PREFLIGHT });
    expect(response.status).toBe(204);
    expect(corsOf(response)).toEqual({
      "access-control-allow-origin": APP,
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers":
        "authorization, content-type, apollo-require-preflight, x-apollo-operation-name, apollographql-client-name, apollographql-client-version, x-request-id",
      "access-control-max-age": "600",
      "access-control-expose-headers": "www-authenticate, retry-after, x-request-id",
    });
    expect(response.headers.get("vary")).toBe("Origin");
    expect(await response.text()).toBe("");
  });

  it("names a listed origin on actual responses and lets it read the refusal headers", async () => {
    const url = await serve({ CORS_ORIGINS: APP });
    const response = await fetch(url, { ...QUERY, headers: { ...QUERY.headers, origin: APP } });
    expect(await response.json()).toEqual({ data: { hello: "world" } });
    expect(corsOf(response)).toEqual({
      "access-control-allow-origin": APP,
      "access-control-expose-headers": "www-authenticate, retry-after, x-request-id",
    });
    expect(response.headers.get("vary")).toBe("Origin");
  });

  it("gives an origin that is not listed no CORS headers, and its preflight a bare 204", async () => {
    const url = await serve({ CORS_ORIGINS: APP });
    const preflight = await fetch(url, { method: "OPTIONS", headers: { ...PREFLIGHT, origin: "https://evil.example" } });
    expect(preflight.status).toBe(204);
    expect(corsOf(preflight)).toEqual({});
    // Exact match only: another scheme, port or subdomain is another origin.
    for (const origin of ["http://app.example.com", "https://app.example.com:8443", "https://x.app.example.com"]) {
      const response = await fetch(url, { ...QUERY, headers: { ...QUERY.headers, origin } });
      expect(response.status).toBe(200);
      expect(corsOf(response)).toEqual({});
    }
  });

  it("allows every origin with * (the default outside production)", async () => {
    const url = await serve({});
    const preflight = await fetch(url, { method: "OPTIONS", headers: { ...PREFLIGHT, origin: "http://localhost:3000" } });
    expect(preflight.status).toBe(204);
    expect(corsOf(preflight)).toMatchObject({ "access-control-allow-origin": "*", "access-control-max-age": "600" });
    expect(preflight.headers.has("access-control-allow-credentials")).toBe(false);
    const response = await fetch(url, { ...QUERY, headers: { ...QUERY.headers, origin: "http://localhost:3000" } });
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("sends no CORS headers in production unless origins are configured", async () => {
    const url = await serve({ NODE_ENV: "production", COGNITO_USER_POOL_ID: "us-east-1_AbC123", COGNITO_CLIENT_ID: "client1" });
    const preflight = await fetch(url, { method: "OPTIONS", headers: PREFLIGHT });
    expect(preflight.status).toBe(204);
    expect(corsOf(preflight)).toEqual({});
    expect(preflight.headers.has("vary")).toBe(false);
    const response = await fetch(url, { ...QUERY, headers: { ...QUERY.headers, origin: APP } });
    expect(await response.json()).toEqual({ data: { hello: "world" } });
    expect(corsOf(response)).toEqual({});
  });

  it("puts the CORS headers on refusals too, so the browser lets the client read them", async () => {
    const url = await serve({ CORS_ORIGINS: APP });
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", origin: APP }, body: "{" });
    expect(response.status).toBe(400);
    expect(response.headers.get("access-control-allow-origin")).toBe(APP);
  });
});

describe("CORS on the product server", () => {
  it("lets a browser page send x-request-id and Apollo Client's client-awareness headers", async () => {
    const app = await startApp({ CORS_ORIGINS: "http://localhost:5173" });
    try {
      const asked = "authorization, content-type, x-request-id, apollographql-client-name, apollographql-client-version";
      const preflight = await fetch(app.url, {
        method: "OPTIONS",
        headers: { origin: "http://localhost:5173", "access-control-request-method": "POST", "access-control-request-headers": asked },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
      const allowed = preflight.headers.get("access-control-allow-headers")!.split(", ");
      for (const header of asked.split(", ")) expect(allowed).toContain(header);
      // Only what was decided: a header the preflight asks for is not reflected.
      const other = await fetch(app.url, {
        method: "OPTIONS",
        headers: {
          origin: "http://localhost:5173",
          "access-control-request-method": "POST",
          "access-control-request-headers": "x-made-up",
        },
      });
      expect(other.headers.get("access-control-allow-headers")).not.toContain("x-made-up");
      const response = await fetch(app.url, {
        method: "POST",
        headers: {
          origin: "http://localhost:5173",
          "content-type": "application/json",
          "x-request-id": "browser-req-1",
          "apollographql-client-name": "web",
          "apollographql-client-version": "1.2.3",
        },
        body: JSON.stringify({ query: "{ me { sub } }" }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
      expect(response.headers.get("x-request-id")).toBe("browser-req-1");
    } finally {
      await app.close();
    }
  }, 60_000);

  it("serves the Sandbox landing page (which embeds a dev token) with no CORS headers, whatever the origin", async () => {
    const app = await startApp();
    try {
      for (const origin of ["https://evil.example", "http://localhost:5173"]) {
        const page = await fetch(app.url, { headers: { accept: "text/html", origin } });
        expect(page.status).toBe(200);
        expect(page.headers.get("content-type")).toMatch(/^text\/html/);
        expect(await page.text()).toContain("Bearer ey");
        expect([...page.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
      }
      // API answers still carry them (CORS_ORIGINS defaults to * outside production).
      const api = await fetch(app.url, {
        method: "POST",
        headers: { origin: "https://evil.example", "content-type": "application/json" },
        body: JSON.stringify({ query: "{ me { sub } }" }),
      });
      expect(api.headers.get("access-control-allow-origin")).toBe("*");
    } finally {
      await app.close();
    }
  }, 60_000);

  it("answers a browser preflight from another origin in dev mode, as startServer wires it", async () => {
    const app = await startApp({ CORS_ORIGINS: APP });
    try {
      const response = await fetch(app.url, { method: "OPTIONS", headers: PREFLIGHT });
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBe(APP);
      const other = await fetch(app.url, { method: "OPTIONS", headers: { ...PREFLIGHT, origin: "https://evil.example" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await app.close();
    }
  });
});
