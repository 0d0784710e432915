import { describe, expect, it } from "vitest";
import { readBearerToken, type CredentialSources } from "../../src/auth/bearer.js";
import { InvalidRequestError } from "../../src/auth/errors.js";

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
const sources = (overrides: Partial<CredentialSources>): CredentialSources => ({
  authorization: [],
  search: "",
  cookie: undefined,
  ...overrides,
});
const reasonOf = (input: Partial<CredentialSources>) => {
  try {
    readBearerToken(sources(input));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return (error as InvalidRequestError).reason;
  }
  return "accepted";
};

describe("readBearerToken", () => {
  it("returns null for a request without credentials", () => {
    expect(readBearerToken(sources({}))).toBeNull();
  });

  it.each(["Bearer", "bearer", "BEARER", "BeArEr"])("accepts the scheme spelled %s", (scheme) => {
    expect(readBearerToken(sources({ authorization: [`${scheme} ${JWT}`] }))).toBe(JWT);
  });

  it("accepts several spaces after the scheme and surrounding whitespace", () => {
    expect(readBearerToken(sources({ authorization: [`  Bearer   ${JWT} `] }))).toBe(JWT);
  });

  it.each([
    ["an empty header", ""],
    ["the scheme alone", "Bearer"],
    ["the scheme and a space", "Bearer "],
    ["another scheme", `Basic ${JWT}`],
    ["no scheme", JWT],
    ["two credentials", `Bearer ${JWT} ${JWT}`],
    ["a comma-joined second credential", `Bearer ${JWT}, Bearer ${JWT}`],
    ["a character outside b64token", `Bearer ${JWT}!`],
    ["a tab instead of a space", `Bearer\t${JWT}`],
    ["quotes", `Bearer "${JWT}"`],
  ])("refuses %s as AUTHORIZATION_MALFORMED", (_label, header) => {
    expect(reasonOf({ authorization: [header] })).toBe("AUTHORIZATION_MALFORMED");
  });

  it("refuses two Authorization headers", () => {
    expect(reasonOf({ authorization: [`Bearer ${JWT}`, `Bearer ${JWT}`] })).toBe("AUTHORIZATION_DUPLICATED");
  });

  it.each([
    ["access_token", `access_token=${JWT}`],
    ["id_token", `x=1&id_token=abc`],
    ["a JWT under any name", `q=${JWT}`],
    ["an upper-case name", `ACCESS_TOKEN=abc`],
  ])("refuses a token in the URL (%s), with or without a header", (_label, search) => {
    expect(reasonOf({ search })).toBe("TOKEN_IN_URL");
    expect(reasonOf({ search, authorization: [`Bearer ${JWT}`] })).toBe("TOKEN_IN_URL");
  });

  it.each([
    ["access_token", `access_token=${JWT}`],
    ["a JWT under any name", `session=abc; jwt=${JWT}`],
  ])("refuses a token in a cookie (%s), with or without a header", (_label, cookie) => {
    expect(reasonOf({ cookie })).toBe("TOKEN_IN_COOKIE");
    expect(reasonOf({ cookie, authorization: [`Bearer ${JWT}`] })).toBe("TOKEN_IN_COOKIE");
  });

  it("ignores unrelated query parameters and cookies", () => {
    expect(readBearerToken(sources({ search: "query=%7Bme%7Bsub%7D%7D", cookie: "theme=dark", authorization: [`Bearer ${JWT}`] }))).toBe(JWT);
  });
});
