import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "../../helpers/process.js";

/** What an operator reads in dev: timed lines, every request with method, path and status, operation names found in documents. */
describe("request logs (dev mode, LOG_LEVEL=debug)", () => {
  let server: ServerProcess;
  let url: string;
  const base = () => url.replace(/\/graphql$/, "");

  beforeAll(async () => {
    server = startServerProcess({ LOG_LEVEL: "debug" });
    url = await server.url();
  });

  afterAll(async () => {
    server?.kill();
    await server?.exited;
  });

  it("logs every path with method and status, operator endpoints at debug, each line with the time of day", async () => {
    await fetch(`${base()}/no-such-path`);
    await fetch(`${base()}/healthz`);
    expect(await server.waitFor(/\] DEBUG: request .*"path":"\/healthz"/)).not.toBeNull();
    const notFound = server
      .output()
      .split("\n")
      .find((l) => l.includes('"path":"/no-such-path"'));
    expect(notFound).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: request .*"method":"GET".*"status":404/);
  });

  it("names the operation from the document when the body has no operationName, in the log and in /metrics", async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "query WhoAmI { me { sub } }" }),
    });
    expect(response.status).toBe(200);
    const requestId = response.headers.get("x-request-id")!;
    expect(await server.waitFor(new RegExp(`"requestId":"${requestId}".*"operation":"WhoAmI"`))).not.toBeNull();
    const metrics = await (await fetch(`${base()}/metrics`)).text();
    expect(metrics).toMatch(/graphql_requests_total\{operation="WhoAmI",status="200"\} 1/);
  });
});
