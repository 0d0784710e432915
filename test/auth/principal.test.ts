import { describe, expect, it } from "vitest";
import { principalFromClaims, type VerifiedClaims } from "../../src/auth/principal.js";

const base = { iss: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X", exp: 1_900_000_000, iat: 1_899_990_000 };

describe("principalFromClaims", () => {
  it("reads a user's access token", () => {
    const principal = principalFromClaims({
      ...base,
      sub: "s1",
      token_use: "access",
      client_id: "app",
      username: "alice",
      "cognito:groups": ["support", "staff"],
      scope: "openid  orders/read",
      jti: "j1",
    } as VerifiedClaims);
    expect(principal).toEqual({
      sub: "s1",
      kind: "USER",
      username: "alice",
      email: null,
      emailVerified: false,
      groups: ["support", "staff"],
      scopes: ["openid", "orders/read"],
      tokenUse: "access",
      clientId: "app",
      issuer: base.iss,
      expiresAt: new Date(1_900_000_000_000),
      tokenId: "j1",
      sessionId: null,
      authTime: new Date(1_899_990_000_000),
    });
    expect(Object.isFrozen(principal)).toBe(true);
    expect(Object.isFrozen(principal.groups)).toBe(true);
  });

  it("reads a machine client's token: no username makes kind CLIENT", () => {
    const principal = principalFromClaims({
      ...base,
      sub: "m2m-client",
      token_use: "access",
      client_id: "m2m-client",
      scope: "orders/read orders/write",
    } as VerifiedClaims);
    expect(principal.kind).toBe("CLIENT");
    expect(principal.username).toBeNull();
    expect(principal.groups).toEqual([]);
    expect(principal.scopes).toEqual(["orders/read", "orders/write"]);
  });

  it("reads an ID token: cognito:username, email and aud", () => {
    const principal = principalFromClaims({
      ...base,
      sub: "s2",
      token_use: "id",
      aud: "app",
      "cognito:username": "bob",
      email: "bob@example.com",
      email_verified: true,
      scope: "ignored",
    } as VerifiedClaims);
    expect(principal).toMatchObject({ kind: "USER", username: "bob", email: "bob@example.com", emailVerified: true, clientId: "app", tokenUse: "id" });
  });

  const idToken = (extra: Record<string, unknown>) =>
    ({ ...base, sub: "s3", token_use: "id", aud: "app", "cognito:username": "eve", email: "victim@example.com", ...extra }) as VerifiedClaims;

  it.each([
    ["the boolean true", true],
    ['the string "true"', "true"],
  ])("counts an email as the caller's when email_verified is %s", (_label, claim) => {
    expect(principalFromClaims(idToken({ email_verified: claim }))).toMatchObject({ email: "victim@example.com", emailVerified: true });
  });

  it.each([
    ["false", false],
    ['"false"', "false"],
    ["absent", undefined],
    ['"TRUE"', "TRUE"],
    ["1", 1],
    ['"yes"', "yes"],
    ["null", null],
  ])("never presents an email as the caller's when email_verified is %s", (_label, claim) => {
    expect(principalFromClaims(idToken({ email_verified: claim }))).toMatchObject({ email: null, emailVerified: false });
  });

  it("ignores an email claim on an access token, verified or not", () => {
    const principal = principalFromClaims({ ...base, sub: "s", token_use: "access", client_id: "a", username: "u", email: "x@y.z", email_verified: true } as VerifiedClaims);
    expect(principal.email).toBeNull();
    expect(principal.emailVerified).toBe(false);
  });
});
