import { describe, expect, it } from "vitest";
import { principalFromClaims, type VerifiedClaims } from "../../../src/auth/principal.js";

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
      customClaims: {},
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
    expect(principal).toMatchObject({
      kind: "USER",
      username: "bob",
      email: "bob@example.com",
      emailVerified: true,
      clientId: "app",
      tokenUse: "id",
    });
  });

  const idToken = (extra: Record<string, unknown>) =>
    ({
      ...base,
      sub: "s3",
      token_use: "id",
      aud: "app",
      "cognito:username": "eve",
      email: "victim@example.com",
      ...extra,
    }) as VerifiedClaims;

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

  const accessToken = (extra: Record<string, unknown>) =>
    ({ ...base, sub: "s", token_use: "access", client_id: "a", username: "u", ...extra }) as VerifiedClaims;

  it.each([true, "true"])("reads a verified email from an access token a V2 trigger gave email_verified %j", (verified) => {
    expect(principalFromClaims(accessToken({ email: "x@y.z", email_verified: verified }))).toMatchObject({
      email: "x@y.z",
      emailVerified: true,
    });
  });

  it.each([false, "false", undefined, "yes", 1])("ignores an access token's email when email_verified is %j", (verified) => {
    expect(principalFromClaims(accessToken({ email: "x@y.z", email_verified: verified }))).toMatchObject({
      email: null,
      emailVerified: false,
    });
  });

  it("keeps a machine token CLIENT whatever a V3 trigger added: username, groups, a verified email", () => {
    const principal = principalFromClaims(
      accessToken({
        sub: "m2m",
        client_id: "m2m",
        username: "impostor",
        "cognito:groups": ["admin"],
        email: "x@y.z",
        email_verified: true,
      }),
    );
    expect(principal).toMatchObject({ kind: "CLIENT", username: null, groups: [], email: null, emailVerified: false });
  });

  it("puts every other claim, of any JSON type, in customClaims, deep-frozen, and reads none of it as groups or scopes", () => {
    const claims = accessToken({
      "cognito:groups": ["support"],
      scope: "orders/read",
      tier: "gold",
      limits: { daily: 10, regions: ["eu", "us"], nested: { deeper: [{ x: null }] } },
      flag: true,
      ratio: 0.5,
      nothing: null,
      groups: ["admin"],
      scopes: "orders/write",
      "custom:tenant": "t-1",
    });
    const principal = principalFromClaims(claims);
    expect(principal.customClaims).toEqual({
      tier: "gold",
      limits: { daily: 10, regions: ["eu", "us"], nested: { deeper: [{ x: null }] } },
      flag: true,
      ratio: 0.5,
      nothing: null,
      groups: ["admin"],
      scopes: "orders/write",
      "custom:tenant": "t-1",
    });
    expect(principal.groups).toEqual(["support"]);
    expect(principal.scopes).toEqual(["orders/read"]);
    const limits = principal.customClaims.limits as { regions: string[]; nested: { deeper: object[] } };
    expect([Object.isFrozen(principal.customClaims), Object.isFrozen(limits.regions), Object.isFrozen(limits.nested.deeper[0])]).toEqual([
      true,
      true,
      true,
    ]);
  });

  it("leaves claims named __proto__ and constructor out of customClaims, and pollutes no prototype", () => {
    const claims = JSON.parse(
      `{"sub":"s","token_use":"access","client_id":"a","username":"u","iss":"i","exp":2,"iat":1,"__proto__":{"polluted":true},"constructor":1,"kept":1}`,
    ) as VerifiedClaims;
    const principal = principalFromClaims(claims);
    expect(principal.customClaims).toEqual({ kept: 1 });
    expect(Object.getPrototypeOf(principal.customClaims)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
