import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLoadShedder, type LoadShedderOptions, type ShedReason } from "../../../src/http/shed.js";

describe("createLoadShedder", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  /** A real HTTP server whose admitted requests stay open until released. */
  async function serve(options: Omit<LoadShedderOptions, "onShed">) {
    const shed: ShedReason[] = [];
    const held: ServerResponse[] = [];
    const shedder = createLoadShedder({ ...options, onShed: (reason) => shed.push(reason) });
    server = createServer((req, res) => {
      if (shedder.admit(req, res)) held.push(res);
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    const request = () => fetch(url, { method: "POST", body: "{}", signal: AbortSignal.timeout(10_000) });
    return { shedder, shed, held, request };
  }

  const waitFor = async (check: () => boolean) => {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(check()).toBe(true);
  };

  it("answers 503 SERVICE_UNAVAILABLE with Retry-After at once beyond maxInFlight, and admits again once a slot is free", async () => {
    const { shedder, shed, held, request } = await serve({ maxInFlight: 2, maxPoolWaiting: 10, poolWaiting: () => 0 });
    // The second stays open until the server closes at the end of the test.
    const first = [request(), request().catch(() => null)];
    await waitFor(() => held.length === 2);
    expect(shedder.saturation()).toBe("in_flight");
    const refused = await request();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await refused.json()).errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(["SERVICE_UNAVAILABLE"]);
    expect(shed).toEqual(["in_flight"]);
    held.shift()!.end("done");
    expect((await first[0])!.status).toBe(200);
    await waitFor(() => shedder.inFlight() === 1);
    void request().catch(() => null);
    await waitFor(() => held.length === 2);
    expect(shedder.inFlight()).toBe(2);
  });

  it("sheds while more requests wait for a pooled connection than maxPoolWaiting", async () => {
    let waiting = 0;
    const { shedder, shed, request } = await serve({ maxInFlight: 100, maxPoolWaiting: 1, poolWaiting: () => waiting });
    expect(shedder.saturation()).toBeNull();
    waiting = 2;
    expect((await request()).status).toBe(503);
    expect(shed).toEqual(["pool_waiting"]);
  });
});
