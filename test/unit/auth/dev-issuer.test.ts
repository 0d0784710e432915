import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DevIssuer } from "../../../src/auth/dev-issuer.js";
import { tempDir } from "../../helpers/temp.js";

const byKid = (a: string | undefined, b: string | undefined) => String(a).localeCompare(String(b));

const header = (token: string) => JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()) as { kid: string; alg: string };

describe("DevIssuer", () => {
  it("signs access and ID tokens with different keys, both in its key set", () => {
    const issuer = DevIssuer.ephemeral();
    const access = header(issuer.mint({ sub: "s", clientId: "c", username: "u" }));
    const id = header(issuer.mint({ sub: "s", clientId: "c", username: "u", tokenUse: "id" }));
    expect(access.kid).not.toBe(id.kid);
    expect(access.alg).toBe("RS256");
    expect(
      issuer
        .jwks()
        .keys.map((k) => k.kid)
        .sort(byKid),
    ).toEqual([access.kid, id.kid].sort(byKid));
    expect(issuer.jwks().keys.every((k) => k.d === undefined)).toBe(true);
  });

  it("keeps its keys in a file readable by its owner only, so tokens survive a restart", () => {
    const dir = tempDir("dev-issuer-");
    const file = join(dir, "keys.json");
    const first = DevIssuer.load(file);
    const second = DevIssuer.load(file);
    expect(second.jwks()).toEqual(first.jwks());
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // Nothing is left beside the file from its atomic creation.
    expect(readdirSync(dir)).toEqual(["keys.json"]);
  });
});
