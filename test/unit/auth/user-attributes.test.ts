import { describe, expect, it, vi } from "vitest";
import {
  cognitoUserAttributes,
  createVerifiedEmailLookup,
  regionOfIssuer,
  verifiedAttributeEmail,
  type UserAttributesSource,
} from "../../../src/auth/user-attributes.js";
import { principal } from "../../helpers/principal.js";

const ADMIN_SCOPE = "aws.cognito.signin.user.admin";
const fakeIdToken = (payload: object) => `e30.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.sig`;

describe("verifiedAttributeEmail", () => {
  it.each([
    [{ email: "a@example.com", email_verified: "true" }, "a@example.com"],
    [{ email: "a@example.com", email_verified: true }, "a@example.com"],
    [{ email: "a@example.com", email_verified: "false" }, null],
    [{ email: "a@example.com", email_verified: false }, null],
    [{ email: "a@example.com" }, null],
    [{ email: "a@example.com", email_verified: "TRUE" }, null],
    [{ email: "", email_verified: "true" }, null],
    [{ email_verified: "true" }, null],
  ])("reads %j as %j", (attributes, expected) => {
    expect(verifiedAttributeEmail(attributes)).toBe(expected);
  });
});

describe("createVerifiedEmailLookup", () => {
  const verified = async () => ({ email: "a@example.com", email_verified: "true" });

  it("answers the source's verified email and remembers it per user for ttlSeconds", async () => {
    let clock = 0;
    const source = vi.fn<UserAttributesSource>(verified);
    const lookup = createVerifiedEmailLookup({ source, ttlSeconds: 60, now: () => clock });
    expect(await lookup(principal(), "token")).toBe("a@example.com");
    expect(await lookup(principal(), "another token of the same user")).toBe("a@example.com");
    expect(source).toHaveBeenCalledTimes(1);
    expect(await lookup(principal({ sub: "sub-2" }), "token")).toBe("a@example.com");
    expect(source).toHaveBeenCalledTimes(2);
    clock = 61_000;
    await lookup(principal(), "token");
    expect(source).toHaveBeenCalledTimes(3);
  });

  it("answers the token's own verified email without calling the source (an access token a V2 trigger gave email_verified: true)", async () => {
    const source = vi.fn<UserAttributesSource>(verified);
    const lookup = createVerifiedEmailLookup({ source });
    expect(await lookup(principal({ email: "own@example.com", emailVerified: true }), "token")).toBe("own@example.com");
    expect(source).not.toHaveBeenCalled();
  });

  it("shares one call between concurrent lookups of a user", async () => {
    const source = vi.fn<UserAttributesSource>(async () => {
      await new Promise((r) => setTimeout(r, 20));
      return { email: "a@example.com", email_verified: "true" };
    });
    const lookup = createVerifiedEmailLookup({ source });
    expect(await Promise.all([1, 2, 3].map(() => lookup(principal(), "t")))).toEqual(["a@example.com", "a@example.com", "a@example.com"]);
    expect(source).toHaveBeenCalledTimes(1);
  });

  it("answers null for an unverified email, and remembers that too", async () => {
    const source = vi.fn<UserAttributesSource>(async () => ({ email: "b@example.com", email_verified: "false" }));
    const lookup = createVerifiedEmailLookup({ source });
    expect(await lookup(principal(), "t")).toBeNull();
    expect(await lookup(principal(), "t")).toBeNull();
    expect(source).toHaveBeenCalledTimes(1);
  });

  it("answers null when the source fails, reports the error, and tries again next time", async () => {
    const failure = new Error("NotAuthorizedException");
    const source = vi.fn<UserAttributesSource>().mockRejectedValueOnce(failure).mockImplementation(verified);
    const onError = vi.fn();
    const lookup = createVerifiedEmailLookup({ source });
    expect(await lookup(principal(), "t", onError)).toBeNull();
    expect(onError).toHaveBeenCalledWith(failure);
    expect(await lookup(principal(), "t", onError)).toBe("a@example.com");
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it("answers null to every caller that shared a failed call", async () => {
    const source = vi.fn<UserAttributesSource>(async () => {
      await new Promise((r) => setTimeout(r, 20));
      throw new Error("TooManyRequestsException");
    });
    const onError = vi.fn();
    const lookup = createVerifiedEmailLookup({ source });
    expect(await Promise.all([1, 2].map(() => lookup(principal(), "t", onError)))).toEqual([null, null]);
    expect(source).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it("never looks up a machine client", async () => {
    const source = vi.fn<UserAttributesSource>(verified);
    const lookup = createVerifiedEmailLookup({ source });
    expect(await lookup(principal({ kind: "CLIENT", username: null }), "t")).toBeNull();
    expect(source).not.toHaveBeenCalled();
  });

  it("falls back to a verified ID token's own email when the source cannot answer", async () => {
    const lookup = createVerifiedEmailLookup({ source: async () => null });
    const id = principal({ tokenUse: "id" });
    expect(await lookup(id, fakeIdToken({ email: "c@example.com", email_verified: "true" }))).toBe("c@example.com");
    expect(
      await lookup(principal({ tokenUse: "id", sub: "s2" }), fakeIdToken({ email: "d@example.com", email_verified: false })),
    ).toBeNull();
    // An access token's claims are never read for an email.
    expect(await lookup(principal({ sub: "s3" }), fakeIdToken({ email: "e@example.com", email_verified: true }))).toBeNull();
  });

  it("drops the oldest user beyond cacheSize", async () => {
    const source = vi.fn<UserAttributesSource>(verified);
    const lookup = createVerifiedEmailLookup({ source, cacheSize: 2 });
    for (const sub of ["1", "2", "3", "1"]) await lookup(principal({ sub }), "t");
    expect(source).toHaveBeenCalledTimes(4);
  });
});

describe("cognitoUserAttributes", () => {
  it("does not call Cognito for ID tokens or access tokens without the user-admin scope", async () => {
    const source = cognitoUserAttributes();
    expect(await source(principal({ scopes: ["openid", "email"] }), "t")).toBeNull();
    expect(await source(principal({ tokenUse: "id", scopes: [ADMIN_SCOPE] }), "t")).toBeNull();
  });

  it("takes the region from the pool id in the issuer, and none from an emulator's pool id", () => {
    expect(regionOfIssuer("https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_AbC")).toBe("eu-west-3");
    expect(regionOfIssuer("https://issuer-cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_AbC")).toBe("us-gov-west-1");
    expect(regionOfIssuer("http://localhost:9229/local_0nFa3hjY")).toBeUndefined();
    expect(regionOfIssuer("http://localhost:4566/TestPool")).toBeUndefined();
  });
});
