import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody, sendJson, TOO_LARGE } from "./respond.js";

/** Dev mode only: mints dev tokens for frontends and end-to-end tests (`HttpHandlerOptions.devToken`). */
export const DEV_TOKEN_PATH = "/dev/token";

/** Mints a dev token: the parsed JSON body in, status and JSON out. */
export type DevTokenMint = (body: unknown) => { readonly status: number; readonly body: unknown };

/**
 * `POST /dev/token` with a JSON body. Browsers get CORS headers only for origins listed exactly in CORS_ORIGINS,
 * never through `*`: otherwise any page the developer visits could mint tokens for the local API and use them.
 * Requiring JSON also means a browser must ask first (preflight) before it can send one.
 */
export async function handleDevToken(
  req: IncomingMessage,
  res: ServerResponse,
  mint: DevTokenMint,
  origins: "*" | readonly string[],
): Promise<void> {
  const origin = req.headers.origin;
  res.setHeader("vary", "Origin");
  if (origins !== "*" && origin !== undefined && origins.includes(origin)) {
    res.setHeader("access-control-allow-origin", origin);
    if (req.method === "OPTIONS") {
      res.setHeader("access-control-allow-methods", "POST, OPTIONS");
      res.setHeader("access-control-allow-headers", "content-type");
      res.setHeader("access-control-max-age", "600");
    }
  }
  if (req.method === "OPTIONS") {
    res.writeHead(204).end();
    return;
  }
  if (req.method !== "POST") {
    res.setHeader("allow", "POST, OPTIONS");
    return sendJson(res, 405, { error: 'Use POST with a JSON body, e.g. {"persona":"alice"}.' });
  }
  if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json")) {
    return sendJson(res, 415, { error: "The body must be JSON (content-type: application/json)." });
  }
  const body = await readBody(req);
  if (body === TOO_LARGE) return sendJson(res, 413, { error: "The request body is too large." });
  let parsed: unknown;
  try {
    parsed = body === "" ? {} : JSON.parse(body);
  } catch {
    return sendJson(res, 400, { error: "The request body is not valid JSON." });
  }
  const answer = mint(parsed);
  sendJson(res, answer.status, answer.body);
}
