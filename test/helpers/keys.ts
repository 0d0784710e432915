import { generateKeyPairSync, randomUUID, type JsonWebKey, type KeyObject } from "node:crypto";
import { signJwt } from "../../src/auth/index.js";

/** A pool and clients that exist only in the tests. */
export const TEST_POOL_ID = "us-east-1_TestPool1";
export const OTHER_POOL_ID = "eu-west-1_OtherPool2";
export const TEST_CLIENT_ID = "testclient1";
export const OTHER_CLIENT_ID = "otherclient2";
export const issuerOf = (poolId: string) => `https://cognito-idp.${poolId.split("_")[0]}.amazonaws.com/${poolId}`;

export interface TestKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: JsonWebKey;
}

/** An RS256 key pair generated for the test; its public half goes into a served JWKS. */
export function generateRsaKey(kid = `test-${randomUUID()}`): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { kid, privateKey, publicJwk: publicKey.export({ format: "jwk" }) };
}

export function jwksOf(...keys: TestKey[]) {
  return { keys: keys.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: "RS256", use: "sig" })) };
}

const now = () => Math.floor(Date.now() / 1000);

/** Claims of a valid Cognito user access token for the test pool. */
export function accessClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = now();
  return {
    sub: "user-sub-1",
    "cognito:groups": ["support"],
    iss: issuerOf(TEST_POOL_ID),
    version: 2,
    client_id: TEST_CLIENT_ID,
    origin_jti: randomUUID(),
    token_use: "access",
    scope: "openid email orders/read",
    auth_time: iat,
    iat,
    exp: iat + 3600,
    jti: randomUUID(),
    username: "user1",
    ...overrides,
  };
}

/** Claims of a valid Cognito ID token for the test pool. */
export function idClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = now();
  return {
    sub: "user-sub-1",
    "cognito:groups": ["support"],
    email_verified: true,
    iss: issuerOf(TEST_POOL_ID),
    "cognito:username": "user1",
    aud: TEST_CLIENT_ID,
    token_use: "id",
    auth_time: iat,
    iat,
    exp: iat + 3600,
    jti: randomUUID(),
    email: "user1@example.com",
    ...overrides,
  };
}

/** Signs claims with RS256 under the key's kid; `header` overrides or adds header parameters. */
export function signToken(key: TestKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  return signJwt({ kid: key.kid, alg: "RS256", ...header }, claims, key.privateKey);
}

export const b64url = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
