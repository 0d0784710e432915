/**
 * The origin policy (`CORS_ORIGINS`), one decision for every browser-reachable transport: HTTP's CORS answers
 * and the WebSocket upgrade both ask it. A request without an `Origin` header (curl, servers, mobile apps: not a
 * browser page) is allowed; the policy is about which web pages may talk to the API from a browser.
 *
 * @param origins `Config.corsOrigins`: `*` (any origin) or the exact origins allowed.
 * @param origin the request's `Origin` header, `undefined` when absent.
 */
export function isOriginAllowed(origins: "*" | readonly string[], origin: string | undefined): boolean {
  if (origin === undefined || origins === "*") return true;
  return origins.includes(origin);
}
