import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { tempDir } from "../../helpers/temp.js";

const run = promisify(execFile);
const dataDir = tempDir("token-cli-");

/** Runs `npm run token -- ...` as a user would (through tsx), against the given data directory. */
async function token(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/cli/token.ts", ...args], {
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, ...env },
    });
    return { code: 0, stdout: stdout.trim(), stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout.trim(), stderr: failed.stderr };
  }
}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
const ME = "{ me { sub kind username email groups scopes tokenUse } }";

describe("npm run token", () => {
  let app: TestApp;
  // The server and the CLI share the data directory, as `npm start` and `npm run token` share .data/.
  beforeAll(async () => {
    await token(["alice"]);
    app = await startApp({ DATA_DIR: dataDir });
  });
  afterAll(() => app.close());

  it("prints a persona's token that the dev server accepts", async () => {
    const result = await token(["alice"]);
    expect(result.code).toBe(0);
    const response = await app.graphql(ME, { headers: bearer(result.stdout) });
    expect(response.body.data.me).toEqual({
      sub: "a11ce000-0000-4000-8000-000000000001",
      kind: "USER",
      username: "alice",
      email: null,
      groups: [],
      scopes: ["openid", "email", "profile"],
      tokenUse: "ACCESS",
    });
  });

  it("issues Cognito-shaped access token claims", async () => {
    const claims = claimsOf((await token(["sam"])).stdout);
    expect(claims).toMatchObject({
      token_use: "access",
      client_id: "devwebapp",
      username: "sam",
      "cognito:groups": ["support"],
      iss: "https://cognito-idp.xx-local-1.amazonaws.com/xx-local-1_DevPool",
      version: 2,
    });
    expect(typeof claims.jti).toBe("string");
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
  });

  it("prints a machine client's token: no username, sub = client id", async () => {
    const result = await token(["fulfillment"]);
    const response = await app.graphql(ME, { headers: bearer(result.stdout) });
    expect(response.body.data.me).toMatchObject({
      sub: "devfulfillment",
      kind: "CLIENT",
      username: null,
      scopes: ["orders/read", "orders/write"],
    });
    expect(claimsOf(result.stdout)).not.toHaveProperty("cognito:groups");
  });

  it("takes free flags for groups, scopes, sub, lifetime and ID tokens", async () => {
    const result = await token(["--groups", "a,b", "--scopes", "x y", "--sub", "s-1", "--username", "u", "--expires-in", "60"]);
    const response = await app.graphql(ME, { headers: bearer(result.stdout) });
    expect(response.body.data.me).toMatchObject({ sub: "s-1", username: "u", groups: ["a", "b"], scopes: ["x", "y"] });
    const claims = claimsOf(result.stdout);
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);

    const id = await token(["bob", "--id"]);
    const idResponse = await app.graphql(ME, { headers: bearer(id.stdout) });
    expect(idResponse.body.data.me).toMatchObject({ username: "bob", email: "bob@example.com", tokenUse: "ID" });
    expect(claimsOf(id.stdout)).toMatchObject({ aud: "devwebapp", "cognito:username": "bob" });

    const machine = await token(["--client", "--scopes", "orders/read"]);
    const machineResponse = await app.graphql(ME, { headers: bearer(machine.stdout) });
    expect(machineResponse.body.data.me).toMatchObject({ kind: "CLIENT", scopes: ["orders/read"] });
  });

  it.each([
    ["an unknown persona", ["mallory"], {}, /Unknown persona "mallory"/],
    ["a lifetime over a day", ["alice", "--expires-in", "86401"], {}, /--expires-in/],
    ["a lifetime that is not a number", ["alice", "--expires-in", "soon"], {}, /--expires-in/],
    ["an ID token for a machine", ["--client", "--id"], {}, /--id and --client/],
    ["an unknown flag", ["--admin"], {}, /Unknown option/],
    [
      "Cognito mode",
      ["alice"],
      { COGNITO_USER_POOL_ID: "us-east-1_AbC123", COGNITO_CLIENT_ID: "c1" },
      /dev mode only.*unset COGNITO_USER_POOL_ID/,
    ],
    ["production", ["alice"], { NODE_ENV: "production" }, /COGNITO_USER_POOL_ID/],
  ])("refuses %s with exit code 2 and prints no token", async (_label, args, env, message) => {
    const result = await token(args as string[], env as Record<string, string>);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
  });
});
