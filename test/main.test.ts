import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** Starts `npm start`'s entry point as a real process and collects what it prints. */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: { PATH: process.env.PATH, DATA_DIR: mkdtempSync(join(tmpdir(), "main-")), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const waitFor = async (pattern: RegExp) => {
    for (let i = 0; i < 200 && !pattern.test(output); i++) await new Promise((r) => setTimeout(r, 50));
    return pattern.exec(output);
  };
  return { child, exited, waitFor, output: () => output };
}

describe("npm start", () => {
  it("starts in dev mode, says where and how to get a token, serves requests and stops on SIGTERM", async () => {
    const main = startMain({ PORT: "0" });
    try {
      const listening = await main.waitFor(/API listening on (http:\/\/127\.0\.0\.1:\d+\/graphql) \(dev mode/);
      expect(listening, main.output()).not.toBeNull();
      expect(main.output()).toContain("npm run -s token -- alice");
      const response = await fetch(listening![1]!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ me { sub } }" }),
      });
      expect(await response.json()).toEqual({ data: { me: null } });
      main.child.kill("SIGTERM");
      expect(await main.exited).toBe(0);
    } finally {
      main.child.kill("SIGKILL");
    }
  });

  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ NODE_ENV: "production" }, "COGNITO_USER_POOL_ID"],
  ])("refuses to start with %j, naming %s", async (env, variable) => {
    const main = startMain(env);
    expect(await main.exited).toBe(1);
    expect(main.output()).toContain(`Configuration error: ${variable}:`);
  });

  it("refuses to start when the key set cannot be loaded", async () => {
    const main = startMain({
      PORT: "0",
      COGNITO_USER_POOL_ID: "us-east-1_AbC123",
      COGNITO_CLIENT_ID: "c1",
      // Nothing listens on port 9 (discard) on loopback: the fetch fails at once.
      COGNITO_JWKS_URI: "http://127.0.0.1:9/jwks.json",
    });
    expect(await main.exited).toBe(1);
    expect(main.output()).toContain("KEYS_UNAVAILABLE");
  });
});
