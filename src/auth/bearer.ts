import type { IncomingMessage } from "node:http";
import { InvalidRequestError } from "./errors.js";

/** Where a credential could have been sent; we accept only one of them (RFC 6750 §2.1). */
export interface CredentialSources {
  /** Every Authorization header value received, in order (a repeated header gives several). */
  readonly authorization: readonly string[];
  /** The query string without its leading `?`. */
  readonly search: string;
  /** The raw Cookie header, if any. */
  readonly cookie: string | undefined;
}

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
// (A regex, not a hand-written scan: the scan cost more; docs/performance.md#measurements-behind-code-choices.)
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const SCHEME = "bearer";
// RFC 9110 §5.6.3: HTTP's whitespace (OWS) is SP and HTAB only. JavaScript's trim() and \s also strip
// no-break spaces, line separators and the like, which would let a token followed by U+00A0 authenticate.
const LEADING_OWS = /^[ \t]+/;
const TRAILING_OWS = /[ \t]+$/;

/**
 * Removes HTTP optional whitespace (SP and HTAB, RFC 9110 §5.6.3) around a header value or list member, and
 * nothing else: a value followed by any other character (U+00A0, U+2028, a vertical tab) keeps it, so a parser
 * after this one refuses it. Use it wherever a header or a credential is parsed, never `trim()`.
 */
export function trimHttpWhitespace(value: string): string {
  // Most values have no whitespace at either end: checking the two ends first skips two regex passes over the
  // whole value (a ~1 KB Authorization header on every request; docs/performance.md#measurements-behind-code-choices).
  if (value === "" || (!isHttpWhitespace(value.charCodeAt(0)) && !isHttpWhitespace(value.charCodeAt(value.length - 1)))) return value;
  return value.replace(LEADING_OWS, "").replace(TRAILING_OWS, "");
}

const isHttpWhitespace = (code: number) => code === 0x20 || code === 0x09;

// A JWT-looking value: a base64url JSON object header, then two more segments.
const JWT_LIKE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/;
const TOKEN_PARAMETERS = new Set(["access_token", "id_token", "token", "authorization"]);

/**
 * Reads the bearer token of a request, or `null` for an anonymous one.
 * The Authorization value is `Bearer` (any case), one or more spaces, and one b64token (RFC 6750 §2.1);
 * only SP and HTAB around it are ignored (RFC 9110 §5.5, §5.6.3), so a token followed or broken by any other
 * character, a no-break space included, is malformed. The token's characters are not checked here: call
 * `assertB64token` before answering for a token that did not verify (as `createAuthenticator` does).
 * Throws `InvalidRequestError` (400) for anything RFC 6750 calls an invalid request, and also when a
 * token travels in the URL or a cookie: such tokens leak into logs and invite CSRF, so we refuse them
 * rather than ignore them, with or without an Authorization header.
 */
export function readBearerToken(sources: CredentialSources): string | null {
  if (carriesTokenInQuery(sources.search)) {
    throw new InvalidRequestError("TOKEN_IN_URL", "A token must not be sent in the URL; use the Authorization header.");
  }
  if (sources.cookie !== undefined && carriesTokenInCookie(sources.cookie)) {
    throw new InvalidRequestError("TOKEN_IN_COOKIE", "A token must not be sent in a cookie; use the Authorization header.");
  }
  if (sources.authorization.length === 0) return null;
  if (sources.authorization.length > 1) {
    throw new InvalidRequestError("AUTHORIZATION_DUPLICATED", "Send exactly one Authorization header.");
  }
  const token = bearerCredential(trimHttpWhitespace(sources.authorization[0]!));
  if (token === null) throw malformedAuthorization();
  return token;
}

/**
 * Throws `InvalidRequestError` `AUTHORIZATION_MALFORMED` (400) when `token` has a character outside RFC 6750's
 * b64token. `readBearerToken` leaves this out: the authenticator runs it only when a token fails verification, since
 * a token that verifies is base64url segments and dots, all b64token characters (the verifier's precheck refuses
 * anything else). Scanning a 1 KB token on every request cost about 10,000 instructions (docs/performance.md).
 */
export function assertB64token(token: string): void {
  if (!B64TOKEN.test(token)) throw malformedAuthorization();
}

/** The credential after `Bearer` (any case) and one or more SP, or `null` when the value is not of that form. */
function bearerCredential(value: string): string | null {
  if (value.length <= SCHEME.length + 1 || value.charCodeAt(SCHEME.length) !== 0x20) return null;
  if (value.slice(0, SCHEME.length).toLowerCase() !== SCHEME) return null;
  let start = SCHEME.length + 1;
  while (value.charCodeAt(start) === 0x20) start++;
  return start === value.length ? null : value.slice(start);
}

const malformedAuthorization = () =>
  new InvalidRequestError("AUTHORIZATION_MALFORMED", 'The Authorization header must be "Bearer <token>" with exactly one token.');

function carriesTokenInQuery(search: string): boolean {
  if (search === "") return false;
  for (const [name, value] of new URLSearchParams(search)) {
    if (TOKEN_PARAMETERS.has(name.toLowerCase()) || JWT_LIKE.test(value)) return true;
  }
  return false;
}

function carriesTokenInCookie(cookie: string): boolean {
  return cookie.split(";").some((pair) => {
    const eq = pair.indexOf("=");
    // RFC 6265 §4.2.1: cookie-pairs are separated by "; " and surrounded by OWS (SP and HTAB).
    const name = trimHttpWhitespace(eq === -1 ? pair : pair.slice(0, eq)).toLowerCase();
    const value = eq === -1 ? "" : pair.slice(eq + 1);
    return TOKEN_PARAMETERS.has(name) || JWT_LIKE.test(value);
  });
}

/** Collects the credential sources of a Node request. Node folds repeated headers, so read the raw ones. */
export function credentialSourcesFromNode(req: IncomingMessage): CredentialSources {
  const authorization: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // The length first: most headers are told apart without a lower-case copy of their name.
    if (name.length === 13 && name.toLowerCase() === "authorization") authorization.push(raw[i + 1]!);
  }
  const url = req.url ?? "";
  const q = url.indexOf("?");
  return { authorization, search: q === -1 ? "" : url.slice(q + 1), cookie: req.headers.cookie };
}
