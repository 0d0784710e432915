import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { Metrics } from "../../src/metrics.js";

/** The series of one metric in an exposition text, in order. */
const seriesOf = (text: string, name: string) => text.split("\n").filter((line) => line.startsWith(name));

describe("Metrics", () => {
  it("exposes request and authentication counts exactly as prom-client's own counters would", async () => {
    const metrics = new Metrics();
    const registry = new Registry();
    const requests = new Counter({ name: "graphql_requests_total", help: "h", labelNames: ["operation", "status"], registers: [registry] });
    const authentications = new Counter({ name: "auth_outcomes_total", help: "h", labelNames: ["reason"], registers: [registry] });
    const answered: [string, number][] = [
      ["Me", 200],
      ["other", 400],
      ["Me", 200],
      ["anonymous", 200],
      ["other", 200],
      ["Me", 401],
    ];
    for (const [operation, status] of answered) {
      metrics.countRequest(operation, status);
      requests.inc({ operation, status: String(status) });
    }
    for (const reason of ["VERIFIED", "TOKEN_EXPIRED", "VERIFIED", "ANONYMOUS"]) {
      metrics.countAuthentication(reason);
      authentications.inc({ reason });
    }
    for (let scrape = 0; scrape < 2; scrape++) {
      const ours = await metrics.registry.metrics();
      const theirs = await registry.metrics();
      expect(seriesOf(ours, "graphql_requests_total")).toEqual(seriesOf(theirs, "graphql_requests_total"));
      expect(seriesOf(ours, "auth_outcomes_total")).toEqual(seriesOf(theirs, "auth_outcomes_total"));
    }
    expect(seriesOf(await metrics.registry.metrics(), "graphql_requests_total")).toContain(
      'graphql_requests_total{operation="Me",status="200"} 2',
    );
    expect((await metrics.authentications.get()).values).toEqual([
      { labels: { reason: "VERIFIED" }, value: 2 },
      { labels: { reason: "TOKEN_EXPIRED" }, value: 1 },
      { labels: { reason: "ANONYMOUS" }, value: 1 },
    ]);
  });
});
