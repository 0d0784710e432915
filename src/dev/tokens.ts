import { randomUUID } from "node:crypto";
import type { DevIssuer, DevTokenRequest } from "../auth/index.js";
import { DEV_APP_CLIENT_ID, DEV_FULFILLMENT_CLIENT_ID, isPersonaName, PERSONAS, type PersonaName } from "./personas.js";

/**
 * What a dev token is made of, as `npm run token` flags and as the body of `POST /dev/token`: a persona, and
 * values that override the persona's (or build a token from scratch).
 */
export interface DevTokenOptions {
  readonly persona?: string;
  readonly groups?: readonly string[];
  readonly scopes?: readonly string[];
  /** A machine token (client-credentials grant) of the dev machine client: no username, `sub` = client id. */
  readonly client?: boolean;
  /** An ID token instead of an access token. */
  readonly id?: boolean;
  /** Lifetime in seconds, 1 to 86400. Default 3600. */
  readonly expiresIn?: number;
  readonly sub?: string;
  readonly username?: string;
  /** The email (ID tokens carry it; every dev email counts as verified). */
  readonly email?: string;
}

/** A dev token request that cannot be served; the message says why, for the CLI's usage or a 400. */
export class DevTokenOptionsError extends Error {
  override readonly name = "DevTokenOptionsError";
}

export interface MintedDevToken {
  readonly token: string;
  readonly tokenUse: "access" | "id";
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

/** Validates `options` and mints the token with the dev issuer. Throws `DevTokenOptionsError`. */
export function mintDevToken(issuer: DevIssuer, options: DevTokenOptions): MintedDevToken {
  const request = devTokenRequest(options);
  const issuedAt = Math.floor(Date.now() / 1000);
  return {
    token: issuer.mint({ ...request, issuedAt }),
    tokenUse: request.tokenUse ?? "access",
    expiresAt: issuedAt + (request.expiresInSeconds ?? 3600),
  };
}

/** The dev issuer's request for `options`, or a `DevTokenOptionsError`. Pure. */
export function devTokenRequest(options: DevTokenOptions): DevTokenRequest {
  const name = options.persona;
  if (name !== undefined && !isPersonaName(name)) {
    throw new DevTokenOptionsError(`Unknown persona "${name}" (personas: ${Object.keys(PERSONAS).join(", ")}).`);
  }
  const persona = name !== undefined ? PERSONAS[name as PersonaName] : undefined;
  const machine = options.client === true || (persona !== undefined && persona.username === undefined);
  const expiresIn = options.expiresIn ?? 3600;
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > 86_400) {
    throw new DevTokenOptionsError("expiresIn must be a whole number of seconds from 1 to 86400 (the server refuses longer lifetimes).");
  }
  if (machine && options.id) throw new DevTokenOptionsError("id and client do not go together: machine clients get access tokens only.");
  // The dev server accepts exactly the dev app client and the dev machine client.
  const clientId = machine ? DEV_FULFILLMENT_CLIENT_ID : DEV_APP_CLIENT_ID;
  return {
    sub: options.sub ?? (machine ? clientId : (persona?.sub ?? randomUUID())),
    tokenUse: options.id ? "id" : "access",
    clientId,
    username: machine ? undefined : (options.username ?? persona?.username ?? "dev-user"),
    email: options.email ?? persona?.email,
    groups: options.groups ?? persona?.groups ?? [],
    scopes: options.scopes ?? persona?.scopes ?? [],
    expiresInSeconds: expiresIn,
  };
}

const STRING_OPTIONS = ["persona", "sub", "username", "email"] as const;
const LIST_OPTIONS = ["groups", "scopes"] as const;
const FLAG_OPTIONS = ["client", "id"] as const;
const KNOWN = new Set<string>([...STRING_OPTIONS, ...LIST_OPTIONS, ...FLAG_OPTIONS, "expiresIn"]);

/**
 * The JSON body of `POST /dev/token` as options: `{ "persona": "alice" }`, or any of the CLI's values
 * (`groups` and `scopes` as arrays of strings, `client` and `id` as booleans, `expiresIn` in seconds).
 */
export function devTokenOptionsFromJson(body: unknown): DevTokenOptions {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new DevTokenOptionsError("The body must be a JSON object.");
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) throw new DevTokenOptionsError(`Unknown field(s): ${unknown.join(", ")}. Known: ${[...KNOWN].join(", ")}.`);
  const options: Record<string, unknown> = {};
  for (const key of STRING_OPTIONS) {
    if (input[key] === undefined) continue;
    if (typeof input[key] !== "string" || input[key] === "") throw new DevTokenOptionsError(`${key} must be a non-empty string.`);
    options[key] = input[key];
  }
  for (const key of LIST_OPTIONS) {
    if (input[key] === undefined) continue;
    const value = input[key];
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string" && item !== "" && !/\s/.test(item))) {
      throw new DevTokenOptionsError(`${key} must be an array of strings without spaces.`);
    }
    options[key] = value;
  }
  for (const key of FLAG_OPTIONS) {
    if (input[key] === undefined) continue;
    if (typeof input[key] !== "boolean") throw new DevTokenOptionsError(`${key} must be true or false.`);
    options[key] = input[key];
  }
  if (input.expiresIn !== undefined) {
    if (typeof input.expiresIn !== "number") throw new DevTokenOptionsError("expiresIn must be a number of seconds.");
    options.expiresIn = input.expiresIn;
  }
  return options as DevTokenOptions;
}

/**
 * The handler of `POST /dev/token` (dev mode only): 200 `{ token, tokenUse, expiresAt }`, or 400 `{ error }`
 * naming what is wrong with the body.
 */
export function devTokenEndpoint(issuer: DevIssuer): (body: unknown) => { status: number; body: unknown } {
  return (body) => {
    try {
      return { status: 200, body: mintDevToken(issuer, devTokenOptionsFromJson(body)) };
    } catch (error) {
      if (error instanceof DevTokenOptionsError) return { status: 400, body: { error: error.message } };
      throw error;
    }
  };
}
