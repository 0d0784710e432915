import { describe, expect, it } from "vitest";
import { principalFromClaims, type VerifiedClaims } from "../../src/auth/principal.js";

const base = { iss: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X", exp: 1_900_000_000 };

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
      groups: ["support", "staff"],
      scopes: ["openid", "orders/read"],
      tokenUse: "access",
      clientId: "app",
      issuer: base.iss,
      expiresAt: new Date(1_900_000_000_000),
      tokenId: "j1",
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
      scope: "ignored",
    } as VerifiedClaims);
    expect(principal).toMatchObject({ kind: "USER", username: "bob", email: "bob@example.com", clientId: "app", tokenUse: "id" });
  });

  it("ignores an email claim on an access token", () => {
    const principal = principalFromClaims({ ...base, sub: "s", token_use: "access", client_id: "a", username: "u", email: "x@y.z" } as VerifiedClaims);
    expect(principal.email).toBeNull();
  });
});
