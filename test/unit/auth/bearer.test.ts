import { describe, expect, it } from "vitest";
import { assertB64token, readBearerToken, type CredentialSources } from "../../../src/auth/bearer.js";
import { InvalidRequestError } from "../../../src/auth/errors.js";

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
const sources = (overrides: Partial<CredentialSources>): CredentialSources => ({
  authorization: [],
  search: "",
  cookie: undefined,
  ...overrides,
});
/** The whole rule, as the authenticator applies it to a token that failed: the header's form, then b64token. */
const readChecked = (input: Partial<CredentialSources>) => {
  const token = readBearerToken(sources(input));
  if (token !== null) assertB64token(token);
  return token;
};
const reasonOf = (input: Partial<CredentialSources>) => {
  try {
    readChecked(input);
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

  it("accepts HTTP whitespace (SP and HTAB, RFC 9110) around the value", () => {
    expect(readBearerToken(sources({ authorization: [`\t Bearer ${JWT}\t \t`] }))).toBe(JWT);
  });

  // Characters JavaScript's trim() and \s treat as whitespace, which HTTP does not (RFC 9110 §5.6.3).
  const NOT_HTTP_WHITESPACE = [
    "\u00a0",
    "\u0085",
    "\u000b",
    "\u000c",
    "\r",
    "\n",
    "\u1680",
    "\u2000",
    "\u2028",
    "\u2029",
    "\u202f",
    "\u3000",
    "\ufeff",
  ];
  it.each(NOT_HTTP_WHITESPACE.map((c) => [`U+${c.codePointAt(0)!.toString(16).padStart(4, "0").toUpperCase()}`, c]))(
    "refuses a token followed, preceded or broken by %s",
    (_label, c) => {
      for (const header of [
        `Bearer ${JWT}${c}`,
        `${c}Bearer ${JWT}`,
        `Bearer ${c}${JWT}`,
        `Bearer${c}${JWT}`,
        `Bearer ${JWT.slice(0, 10)}${c}${JWT.slice(10)}`,
      ]) {
        expect(reasonOf({ authorization: [header] }), JSON.stringify(header)).toBe("AUTHORIZATION_MALFORMED");
      }
    },
  );

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

  it("reads every value exactly as the grammar's regex on the value trimmed of SP and HTAB (with assertB64token)", () => {
    // The reference: the grammar's regex after the regex trim, which trimHttpWhitespace skips when no end has OWS.
    const reference = (value: string) =>
      /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(value.replace(/^[ \t]+/, "").replace(/[ \t]+$/, ""))?.[1] ?? null;
    const pieces = [
      "Bearer",
      "bearer",
      "BEARER",
      "Bearez",
      "Bear",
      "B\u0130arer",
      "bearer\u017f",
      " ",
      "  ",
      "\t",
      "\u00a0",
      "=",
      "==",
      "a",
      "Z9",
      "-._~+/",
      JWT,
      "!",
      ",",
      "\u212a",
      "\u00e9",
      "",
    ];
    const values = new Set<string>(["", " ", "Bearer", "Bearer =", "Bearer a=", "Bearer a=b", "Bearer a==", "\tBearer a\t", "Bearer  \t"]);
    let seed = 1;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let n = 0; n < 20_000; n++) {
      let value = "";
      for (let parts = next() % 6; parts >= 0; parts--) value += pieces[next() % pieces.length];
      values.add(value);
    }
    for (const value of values) {
      const expected = reference(value);
      if (expected === null) expect(reasonOf({ authorization: [value] }), JSON.stringify(value)).toBe("AUTHORIZATION_MALFORMED");
      else expect(readChecked({ authorization: [value] }), JSON.stringify(value)).toBe(expected);
    }
  });

  it("leaves the token's characters to assertB64token", () => {
    // The authenticator checks them only when verification fails: a token that verifies is base64url and dots.
    expect(readBearerToken(sources({ authorization: ["Bearer a!b"] }))).toBe("a!b");
    expect(() => assertB64token("a!b")).toThrow(InvalidRequestError);
    expect(() => assertB64token(JWT)).not.toThrow();
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

  it("reads cookie names with HTTP whitespace around them (RFC 6265), and still refuses a JWT value whatever the name", () => {
    expect(reasonOf({ cookie: `theme=dark;\taccess_token=abc` })).toBe("TOKEN_IN_COOKIE");
    expect(reasonOf({ cookie: `theme=dark; \u00a0x=${JWT}` })).toBe("TOKEN_IN_COOKIE");
  });

  it("ignores unrelated query parameters and cookies", () => {
    expect(readBearerToken(sources({ search: "query=%7Bme%7Bsub%7D%7D", cookie: "theme=dark", authorization: [`Bearer ${JWT}`] }))).toBe(
      JWT,
    );
  });
});
