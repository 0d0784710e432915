import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Config } from "../config.js";
import { sendError, sendJson } from "./respond.js";

/**
 * The handler of the metrics listener (`METRICS_PORT`): `GET /metrics` answers the Prometheus exposition,
 * anything else 404. It serves nothing of the API, so the port can stay inside the network.
 */
export function createMetricsHandler(metrics: () => Promise<{ contentType: string; body: string }>) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    try {
      if ((q === -1 ? url : url.slice(0, q)) !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
        return sendJson(res, 404, { errors: [{ message: "Not found. Metrics are at /metrics." }] });
      }
      const { contentType, body } = await metrics();
      res.writeHead(200, { "content-type": contentType }).end(body);
    } catch {
      if (!res.headersSent) sendError(res, 500, "Internal server error.");
    }
  };
}

/** The metrics listener (METRICS_PORT on METRICS_HOST): /metrics only, apart from the API's port. */
export async function listenForMetrics(
  listener: Config["metrics"],
  exposition: () => Promise<{ contentType: string; body: string }>,
): Promise<Server> {
  const handler = createMetricsHandler(exposition);
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listener.port!, listener.host, () => resolve());
  });
  return server;
}

/** A host as it goes in a URL: the wildcard addresses as `localhost`, IPv6 in brackets. */
export const urlHost = (host: string) => (host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host);
