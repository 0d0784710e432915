import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { NonRetryableFetchError } from "aws-jwt-verify/error";
import { JwksFetcher } from "../../../src/auth/jwks-fetcher.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { generateRsaKey, jwksOf, TEST_POOL_ID, issuerOf } from "../../helpers/keys.js";

const COGNITO_JWKS_URI = `${issuerOf(TEST_POOL_ID)}/.well-known/jwks.json`;

let jwks: ReturnType<typeof jwksOf>;
const servers: JwksServer[] = [];

/** A key server for one test; closed after it. */
async function keyServer(): Promise<JwksServer> {
  const server = await startJwksServer(jwks);
  servers.push(server);
  return server;
}

const json = (body: ArrayBuffer) => JSON.parse(new TextDecoder().decode(body)) as unknown;

beforeAll(() => {
  jwks = jwksOf(generateRsaKey());
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("JwksFetcher", () => {
  it("fetches a key set over http", async () => {
    const server = await keyServer();
    const fetcher = new JwksFetcher();

    expect(json(await fetcher.fetch(server.url))).toEqual(jwks);
    expect(server.requests).toEqual(["/.well-known/jwks.json"]);
    expect(fetcher.fetched).toEqual([server.url]);
  });

  it("speaks https: for an https URL (here to a plain http server, so the TLS handshake fails the fetch)", async () => {
    const server = await keyServer();

    await expect(new JwksFetcher().fetch(server.url.replace("http:", "https:"))).rejects.toBeInstanceOf(NonRetryableFetchError);
    expect(server.requests).toEqual([]);
  });

  it("fetches the redirected URL instead of the Cognito key-set URL", async () => {
    const server = await keyServer();
    const asked: string[] = [];
    const fetcher = new JwksFetcher({ redirect: (uri) => (asked.push(uri), server.url) });

    expect(json(await fetcher.fetch(COGNITO_JWKS_URI))).toEqual(jwks);
    expect(asked).toEqual([COGNITO_JWKS_URI]);
    expect(fetcher.fetched).toEqual([server.url]);
    expect(server.requests).toHaveLength(1);
  });

  it.each([201, 204, 301, 404, 500, 503])("refuses a key set answered with status %i", async (status) => {
    const server = await keyServer();
    server.setBehaviour({ status });

    await expect(new JwksFetcher().fetch(server.url)).rejects.toBeInstanceOf(NonRetryableFetchError);
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ["not JSON", "<html>502 Bad Gateway</html>"],
    ["not UTF-8", Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString("latin1")],
    ["JSON that is not a key set", JSON.stringify({ hello: "world" })],
    ["keys that is not an array", JSON.stringify({ keys: {} })],
    ["an empty key set", JSON.stringify({ keys: [] })],
    ["a key without kid", JSON.stringify({ keys: [{ kty: "RSA", n: "x", e: "AQAB" }] })],
    ["a key that is not a JWK", JSON.stringify({ keys: [42] })],
  ])("counts %s as a failed fetch and backs off like a 500", async (_case, body) => {
    const server = await keyServer();
    server.setBehaviour({ body });
    const results: string[] = [];
    const fetcher = new JwksFetcher({ backoffMs: 60_000, onFetch: (r) => results.push(r) });

    await expect(fetcher.fetch(server.url)).rejects.toBeInstanceOf(NonRetryableFetchError);
    await expect(fetcher.fetch(server.url)).rejects.toBeInstanceOf(NonRetryableFetchError);
    expect(server.requests).toHaveLength(1);
    expect(results).toEqual(["failed", "skipped"]);
  });

  it("refuses a key set larger than maxBytes", async () => {
    const server = await keyServer();
    server.setBehaviour({ body: JSON.stringify({ keys: [], filler: "x".repeat(5000) }) });

    await expect(new JwksFetcher({ maxBytes: 1024 }).fetch(server.url)).rejects.toBeInstanceOf(NonRetryableFetchError);
  });

  it("accepts a key set of exactly maxBytes", async () => {
    const server = await keyServer();
    const keys = jwksOf(generateRsaKey("k")).keys;
    const body = JSON.stringify({ keys, filler: "" });
    const maxBytes = body.length + 100;
    const exact = JSON.stringify({ keys, filler: "x".repeat(maxBytes - body.length) });
    expect(Buffer.byteLength(exact)).toBe(maxBytes);
    server.setBehaviour({ body: exact });

    expect(json(await new JwksFetcher({ maxBytes }).fetch(server.url))).toEqual(JSON.parse(exact));
  });

  it("gives up on a key server slower than timeoutMs", async () => {
    const server = await keyServer();
    server.setBehaviour({ delayMs: 2000 });

    await expect(new JwksFetcher({ timeoutMs: 100 }).fetch(server.url)).rejects.toBeInstanceOf(NonRetryableFetchError);
  });

  it("fails fast without a request during backoffMs after a failure, and fetches again after it", async () => {
    const server = await keyServer();
    const fetcher = new JwksFetcher({ backoffMs: 200 });
    server.setBehaviour({ status: 500 });
    await expect(fetcher.fetch(server.url)).rejects.toBeInstanceOf(NonRetryableFetchError);
    expect(server.requests).toHaveLength(1);

    server.setBehaviour({});
    await expect(fetcher.fetch(server.url)).rejects.toBeInstanceOf(NonRetryableFetchError);
    expect(server.requests).toHaveLength(1);

    await sleep(300);
    expect(json(await fetcher.fetch(server.url))).toEqual(jwks);
    expect(server.requests).toHaveLength(2);
  });

  it("backs off only the URL that failed", async () => {
    const failing = await keyServer();
    const healthy = await keyServer();
    failing.setBehaviour({ status: 500 });
    const fetcher = new JwksFetcher({ backoffMs: 60_000 });

    await expect(fetcher.fetch(failing.url)).rejects.toBeInstanceOf(NonRetryableFetchError);
    expect(json(await fetcher.fetch(healthy.url))).toEqual(jwks);
    expect(healthy.requests).toHaveLength(1);
  });
});
