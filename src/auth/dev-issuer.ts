import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  type JsonWebKey,
  type KeyObject,
} from "node:crypto";
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Jwks } from "aws-jwt-verify/jwk";
import { issuersOfPool } from "./issuers.js";

/**
 * A built-in stand-in for a Cognito user pool, for dev mode and tests only: it mints tokens whose claims
 * and headers have the shape of real Cognito access, ID and client-credentials tokens, signed RS256 with
 * one key per token use (as Cognito does). Verification of these tokens goes through the same
 * `CognitoJwtVerifier` path as production; the issuer only hands over its public key set.
 */

/** A dev pool id in Cognito's format with a region that does not exist, so it is never mistaken for a real pool. */
export const DEV_USER_POOL_ID = "xx-local-1_DevPool";

export interface DevTokenRequest {
  readonly sub: string;
  /** `access` (default) or `id`. */
  readonly tokenUse?: "access" | "id";
  /** The app client the token is for (`client_id` / `aud`). */
  readonly clientId: string;
  /** A person's username; omit for a machine client (client-credentials grant). */
  readonly username?: string;
  readonly email?: string;
  readonly groups?: readonly string[];
  readonly scopes?: readonly string[];
  /** Seconds until `exp`. Default 3600. */
  readonly expiresInSeconds?: number;
  /** Override `iat` (seconds since the epoch); tests use it for time edges. */
  readonly issuedAt?: number;
}

interface StoredKeys {
  readonly access: JsonWebKey;
  readonly id: JsonWebKey;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: JsonWebKey;
}

/**
 * The dev keys file exists but cannot be used (not JSON, or not the two private RSA keys this issuer writes).
 * The message names the file, the cause and the fix, in one line.
 */
export class DevKeysFileError extends Error {
  override readonly name = "DevKeysFileError";
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}; delete ${file} to create new dev keys (tokens minted with the old keys stop working)`);
  }
}

export class DevIssuer {
  readonly userPoolId = DEV_USER_POOL_ID;
  readonly issuer = issuersOfPool(DEV_USER_POOL_ID)[0]!.issuer;
  private readonly keys: Record<"access" | "id", SigningKey>;

  private constructor(stored: StoredKeys) {
    this.keys = { access: signingKey(stored.access), id: signingKey(stored.id) };
  }

  /**
   * Loads the key pairs from `file`, creating them on first use so dev tokens survive restarts.
   * Throws `DevKeysFileError` for a file that is not this issuer's keys, and Node's file-system errors
   * (`EACCES`, `EROFS`, `ENOTDIR`, ...) when the file or its directory cannot be read or created.
   */
  static load(file: string): DevIssuer {
    let text: string | undefined;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    if (text !== undefined) return DevIssuer.parse(file, text);
    // Create the file atomically (write aside, then link, which fails if it exists): two processes starting
    // together on one data directory must end up with the same keys.
    mkdirSync(dirname(file), { recursive: true });
    const aside = `${file}.${process.pid}.${randomUUID()}`;
    writeFileSync(aside, JSON.stringify({ access: newPrivateJwk(), id: newPrivateJwk() }), { mode: 0o600 });
    try {
      linkSync(aside, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      unlinkSync(aside);
    }
    return DevIssuer.parse(file, readFileSync(file, "utf8"));
  }

  private static parse(file: string, text: string): DevIssuer {
    let stored: unknown;
    try {
      stored = JSON.parse(text);
    } catch (error) {
      throw new DevKeysFileError(file, `is not valid JSON (${(error as Error).message})`);
    }
    const isKey = (key: unknown) =>
      typeof key === "object" && key !== null && (key as JsonWebKey).kty === "RSA" && typeof (key as JsonWebKey).d === "string";
    const keys = stored as Partial<StoredKeys> | null;
    if (typeof keys !== "object" || keys === null || !isKey(keys.access) || !isKey(keys.id)) {
      throw new DevKeysFileError(file, 'is not a dev keys file (expected {"access": <private RSA JWK>, "id": <private RSA JWK>})');
    }
    try {
      return new DevIssuer(keys as StoredKeys);
    } catch (error) {
      throw new DevKeysFileError(file, `holds a key that cannot be used (${(error as Error).message})`);
    }
  }

  /** Fresh keys held in memory only (tests). */
  static ephemeral(): DevIssuer {
    return new DevIssuer({ access: newPrivateJwk(), id: newPrivateJwk() });
  }

  /** The public key set, as Cognito publishes it at `/.well-known/jwks.json`. */
  jwks(): Jwks {
    return {
      keys: [this.keys.access, this.keys.id].map((k) => ({ ...k.publicJwk, kid: k.kid, alg: "RS256", use: "sig" })),
    } as unknown as Jwks;
  }

  /** Mints a Cognito-shaped token. */
  mint(request: DevTokenRequest): string {
    const tokenUse = request.tokenUse ?? "access";
    const iat = request.issuedAt ?? Math.floor(Date.now() / 1000);
    const common = {
      sub: request.sub,
      iss: this.issuer,
      token_use: tokenUse,
      auth_time: iat,
      iat,
      exp: iat + (request.expiresInSeconds ?? 3600),
      jti: randomUUID(),
      origin_jti: randomUUID(),
      event_id: randomUUID(),
      ...(request.groups && request.groups.length > 0 ? { "cognito:groups": [...request.groups] } : {}),
    };
    const payload =
      tokenUse === "id"
        ? {
            ...common,
            aud: request.clientId,
            "cognito:username": request.username ?? request.sub,
            ...(request.email ? { email: request.email, email_verified: true } : {}),
          }
        : {
            ...common,
            client_id: request.clientId,
            version: 2,
            scope: (request.scopes ?? []).join(" "),
            ...(request.username !== undefined ? { username: request.username } : {}),
          };
    const key = this.keys[tokenUse];
    return signJwt({ kid: key.kid, alg: "RS256" }, payload, key.privateKey);
  }
}

/** Signs a JWT with RS256. Exported for tests, which also sign tokens with keys of their own. */
export function signJwt(header: object, payload: object, privateKey: KeyObject): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  return `${input}.${sign("RSA-SHA256", Buffer.from(input), privateKey).toString("base64url")}`;
}

const base64url = (text: string) => Buffer.from(text, "utf8").toString("base64url");

function newPrivateJwk(): JsonWebKey {
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
}

function signingKey(privateJwk: JsonWebKey): SigningKey {
  const privateKey = createPrivateKey({ key: privateJwk, format: "jwk" });
  const publicJwk = createPublicKey(privateKey).export({ format: "jwk" });
  // Like Cognito's kids: stable, derived from the key, opaque.
  const kid = createHash("sha256")
    .update(publicJwk.n ?? "")
    .digest("base64");
  return { kid, privateKey, publicJwk };
}
