import type { DecomposedJwt } from "aws-jwt-verify/jwt";
import type { JwtHeader, JwtPayload } from "aws-jwt-verify/jwt-model";
import { InvalidTokenError, type AuthReason } from "./errors.js";

/**
 * The checks of a token that are ours rather than aws-jwt-verify's: its shape, header and claim types before the
 * library sees it (`precheck`), and the time, lifetime and audience rules after its signature is verified
 * (`checkClaims`, the library's `customJwtCheck`).
 */

/** Cognito tokens are at most a few KiB; anything larger is refused before it is parsed. */
export const MAX_TOKEN_BYTES = 8 * 1024;
/** Cognito access and ID tokens live at most one day. */
export const MAX_LIFETIME_SECONDS = 24 * 60 * 60;
/** What `precheck` found: the token's key id and issuer, and its parts, decoded and parsed (not yet verified). */
export interface PrecheckedToken {
  readonly kid: string;
  readonly iss: string;
  readonly decomposed: DecomposedJwt;
}

const ALLOWED_HEADER_KEYS = new Set(["alg", "kid", "typ"]);
/**
 * A character above U+00FF. V8 compiles a version of each regular expression for strings of one-byte characters,
 * in which this one can never match: on every well-formed token the test returns at once, without reading it.
 */
const ABOVE_LATIN1 = /[^\0-\xff]/;

/**
 * Checks made before the library sees the token, so that nothing is fetched or parsed leniently for a token
 * that is malformed, oversized, asks for a key we would never use, or names an issuer we do not trust.
 * Returns the token's `kid`, `iss` (one of `issuers`) and its parts as aws-jwt-verify decomposes them (parsed once
 * here, handed to the library: see parse-once.ts). Throws `InvalidTokenError`.
 */
export function precheck(token: string, issuers: ReadonlySet<string>, knownHeaders?: KnownHeaders): PrecheckedToken {
  if (token.length > MAX_TOKEN_BYTES) throw new InvalidTokenError("TOKEN_TOO_LARGE", `Token is over ${MAX_TOKEN_BYTES} bytes`);
  const segments = token.split(".");
  if (segments.length !== 3) throw new InvalidTokenError("TOKEN_MALFORMED", "Token is not three base64url segments");
  // Node's base64 decoder reads a character above U+00FF by its low byte alone: refused here (see ABOVE_LATIN1).
  if (ABOVE_LATIN1.test(token)) throw new InvalidTokenError("TOKEN_MALFORMED", CANONICAL);
  const [headerB64, payloadB64, signatureB64] = segments as [string, string, string];
  // A header segment that verified before needs no decoding, parsing or checking again (see KnownHeaders).
  const known = knownHeaders?.get(headerB64);
  const headerBytes = known === undefined ? canonicalBytes(headerB64) : undefined;
  const payloadBytes = canonicalBytes(payloadB64);
  canonicalBytes(signatureB64);
  const header = known ?? checkedHeader(headerBytes!);
  const payload = parseSegment(payloadBytes, "payload");
  if (typeof payload.iss !== "string" || !issuers.has(payload.iss)) {
    // Shown in dev mode only (production answers with the reason code): which issuer came, which are accepted.
    const came = typeof payload.iss === "string" ? JSON.stringify(payload.iss.slice(0, 200)) : "missing";
    throw new InvalidTokenError("TOKEN_WRONG_ISSUER", `Issuer ${came} is not a configured user pool; accepted: ${[...issuers].join(", ")}`);
  }
  checkClaimTypes(payload);
  return {
    kid: header.kid,
    iss: payload.iss,
    decomposed: { header, headerB64, payload: payload as JwtPayload, payloadB64, signatureB64 },
  };
}

/** A header that passed `checkedHeader`: `alg` RS256, a non-empty `kid`, no other parameter than `typ` (JWT). */
type CheckedHeader = JwtHeader & { readonly kid: string };

/** The header segment's bytes parsed and checked. Throws `InvalidTokenError`. */
function checkedHeader(headerBytes: Buffer): CheckedHeader {
  const header = parseSegment(headerBytes, "header");
  for (const key of Object.keys(header)) {
    if (!ALLOWED_HEADER_KEYS.has(key)) {
      throw new InvalidTokenError("TOKEN_HEADER_REJECTED", `Header parameter "${key}" is not accepted`);
    }
  }
  // Cognito signs with RS256 only: refusing everything else closes alg confusion before any key lookup.
  if (header.alg !== "RS256") throw new InvalidTokenError("TOKEN_HEADER_REJECTED", "Header alg must be RS256");
  if (typeof header.kid !== "string" || header.kid === "") {
    throw new InvalidTokenError("TOKEN_HEADER_REJECTED", "Header kid must be a non-empty string");
  }
  if (header.typ !== undefined && header.typ !== "JWT") {
    throw new InvalidTokenError("TOKEN_HEADER_REJECTED", "Header typ must be JWT when present");
  }
  return header as CheckedHeader;
}

/**
 * The header segments of tokens that verified, each with its header as `precheck` parsed and checked it (frozen):
 * every token a key signs has the same header segment, so a never-seen token of a known key skips decoding and
 * parsing its header. A segment is the same string as one that passed, so the result is the same as parsing it
 * again. Filled only by verified tokens (nobody can fill it with made-up headers) and bounded: the oldest goes first.
 */
export class KnownHeaders {
  private readonly segments: string[] = [];
  private readonly headers: CheckedHeader[] = [];
  private next = 0;

  /** @param size how many header segments to remember (a few per signing key suffice). @default 8 */
  constructor(private readonly size = 8) {}

  /** The checked header of `headerB64` when it is a remembered segment (compared as strings). */
  get(headerB64: string): CheckedHeader | undefined {
    const i = this.segments.indexOf(headerB64);
    return i === -1 ? undefined : this.headers[i];
  }

  /** Remembers the header of a token that verified (`header` as `precheck` returned it for `headerB64`). */
  remember(headerB64: string, header: JwtHeader): void {
    if (this.segments.includes(headerB64)) return;
    this.segments[this.next] = headerB64;
    this.headers[this.next] = Object.freeze(header) as CheckedHeader;
    this.next = (this.next + 1) % this.size;
  }
}

/**
 * The bytes of a base64url segment spelt exactly as an encoder writes it: only the 64 base64url characters, no
 * padding, no length an encoder cannot produce (1 mod 4), unused low bits of the last character zero (RFC 4648
 * section 3.5 lets decoders refuse otherwise), not empty. Without the last rule one token would have several spellings
 * (change the signature's last character from A to B and it still verifies): each would be a different token to the
 * verified-token cache and to anything that compares tokens as strings. Throws `InvalidTokenError` (`TOKEN_MALFORMED`).
 *
 * Node's decoder is lenient: it skips what it cannot read (whitespace, `=` and anything outside both base64
 * alphabets) and reads `+` and `/` as `-` and `_`. Each character it reads gives 6 bits, so it returns
 * floor(6n / 8) bytes for n characters read; for a length other than 1 mod 4, that is fewer bytes as soon as one
 * character was skipped. So the bytes have that length exactly, `+` and `/` are absent, and the last character's
 * unused bits are zero: every rule above without encoding the bytes again (which cost more). The segment has no
 * character above U+00FF (`precheck` checks the token first): the decoder reads one by its low byte.
 */
function canonicalBytes(segment: string): Buffer {
  const bytes = Buffer.from(segment, "base64url");
  const length = segment.length;
  if (
    length === 0 ||
    length % 4 === 1 ||
    bytes.length !== (length * 3) >> 2 ||
    segment.includes("+") ||
    segment.includes("/") ||
    (UNUSED_BITS[length % 4]! & BASE64URL_VALUE[segment.charCodeAt(length - 1)]!) !== 0
  ) {
    throw new InvalidTokenError("TOKEN_MALFORMED", CANONICAL);
  }
  return bytes;
}

const CANONICAL = "Token is not three canonical base64url segments without padding";
/** The low bits of the last character that carry no data, by segment length mod 4 (1 is refused before). */
const UNUSED_BITS = [0, 0, 0b1111, 0b11];
/** Each base64url character's 6-bit value, by character code (other codes: 0, never read for them). */
const BASE64URL_VALUE = new Uint8Array(128);
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
for (let value = 0; value < BASE64URL.length; value++) BASE64URL_VALUE[BASE64URL.charCodeAt(value)] = value;

const isNumber = (value: unknown) => typeof value === "number" && Number.isFinite(value);
const isString = (value: unknown) => typeof value === "string";
const isStringArray = (value: unknown) => Array.isArray(value) && value.every(isString);

/**
 * Claim types, checked before the library parses them: it refuses some wrong types itself, but only as a
 * generic parse error, and it ignores others (`cognito:groups` as a string would reach our rules).
 */
function checkClaimTypes(payload: Record<string, unknown>): void {
  const wrong = (detail: string) => new InvalidTokenError("TOKEN_CLAIMS_INVALID", detail);
  if (!isNumber(payload.exp)) throw wrong("exp must be a number");
  if (!isNumber(payload.iat)) throw wrong("iat must be a number");
  if (payload.nbf !== undefined && !isNumber(payload.nbf)) throw wrong("nbf must be a number");
  if (!isString(payload.sub) || payload.sub === "") throw wrong("sub must be a non-empty string");
  if (payload.jti !== undefined && !isString(payload.jti)) throw wrong("jti must be a string");
  if (payload.origin_jti !== undefined && !isString(payload.origin_jti)) throw wrong("origin_jti must be a string");
  if (payload.auth_time !== undefined && !isNumber(payload.auth_time)) throw wrong("auth_time must be a number");
  if (payload.aud !== undefined && !isString(payload.aud) && !isStringArray(payload.aud)) {
    throw wrong("aud must be a string or an array of strings");
  }
  if (payload["cognito:groups"] !== undefined && !isStringArray(payload["cognito:groups"])) {
    throw wrong("cognito:groups must be an array of strings");
  }
  if (payload.scope !== undefined && !isString(payload.scope)) throw wrong("scope must be a string");
}

function parseSegment(bytes: Buffer, part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new InvalidTokenError("TOKEN_MALFORMED", `Token ${part} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidTokenError("TOKEN_MALFORMED", `Token ${part} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Time, lifetime and audience rules the library does not apply; runs after the signature is verified
 * (`customJwtCheck`). Types are checked here too, so that this function is safe on its own, unless `typesChecked`
 * says `precheck` checked this very object already. `audiences`: COGNITO_ACCESS_TOKEN_AUDIENCE (`null`: an access
 * token's `aud` is not required).
 */
export function checkClaims(
  payload: Record<string, unknown>,
  skewSeconds: number,
  now = Date.now() / 1000,
  audiences: ReadonlySet<string> | null = null,
  typesChecked = false,
): void {
  if (!typesChecked) checkClaimTypes(payload);
  const iat = payload.iat as number;
  if (iat > now + skewSeconds) throw claimError("TOKEN_ISSUED_IN_FUTURE", "iat is in the future");
  if ((payload.exp as number) - iat > MAX_LIFETIME_SECONDS) throw claimError("TOKEN_LIFETIME_TOO_LONG", "Lifetime exceeds one day");
  if (audiences !== null && payload.token_use === "access") checkAudience(payload.aud, audiences);
}

/**
 * RFC 8707 resource binding: an access token Cognito minted for a resource server carries that server's identifier
 * in `aud` (a string, or an array of them). Another API of the same pool and app client gets tokens that pass every
 * other check, so with COGNITO_ACCESS_TOKEN_AUDIENCE set, one of its identifiers must be in `aud`. ID tokens keep
 * `aud` = client id, checked by the library.
 */
function checkAudience(aud: unknown, audiences: ReadonlySet<string>): void {
  const values = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (!values.some((value) => typeof value === "string" && audiences.has(value))) {
    const came = aud === undefined ? "no aud" : `aud ${JSON.stringify(aud).slice(0, 200)}`;
    throw claimError("TOKEN_WRONG_AUDIENCE", `Access token has ${came}; expected one of ${[...audiences].join(", ")}`);
  }
}

const claimError = (reason: AuthReason, detail: string) => new InvalidTokenError(reason, detail);
