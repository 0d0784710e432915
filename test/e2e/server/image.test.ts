import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID } from "../../helpers/keys.js";
import { removeTempDir, tempDir } from "../../helpers/temp.js";

/**
 * The production image's contents, tested where no image can be built (no Docker daemon): the Dockerfile's build
 * stage is `scripts/build-image.sh /app`, so this runs the same script into a scratch folder, checks what it
 * holds, and starts the server from it the way the image's CMD does (`node dist/main.js` in that folder).
 */
const root = join(import.meta.dirname, "..", "..", "..");
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");

describe("the Dockerfile", () => {
  it("builds with the script this file runs, on .nvmrc's Node, and starts node dist/main.js directly", () => {
    const node = readFileSync(join(root, ".nvmrc"), "utf8").trim();
    const stages = dockerfile.match(/^FROM .+$/gm)!;
    expect(stages).toEqual([`FROM node:${node}-bookworm-slim AS build`, `FROM node:${node}-bookworm-slim`]);
    expect(dockerfile).toMatch(/^RUN scripts\/build-image\.sh \/app$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app \.\/$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    // Not through npm or a shell: SIGTERM must reach the server itself, which drains and exits 0.
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
  });

  it("copies into the build stage every file the script reads, and .dockerignore lets each through", () => {
    const script = readFileSync(join(root, "scripts", "build-image.sh"), "utf8");
    const read = [...script.matchAll(/"\$root\/([\w./-]+)"/g)].map((m) => m[1]!);
    expect(read.sort()).toEqual(["package-lock.json", "package.json", "schema", "src", "tsconfig.build.json", "tsconfig.json"]);
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(" "));
    const allowed = readFileSync(join(root, ".dockerignore"), "utf8")
      .split("\n")
      .filter((line) => line.startsWith("!"))
      .map((line) => line.slice(1).replace(/\/$/, ""));
    for (const file of [...read, "scripts/build-image.sh"]) {
      expect(copied).toContain(file);
      expect(allowed).toContain(file);
    }
  });
});

describe("scripts/build-image.sh", () => {
  const key = generateRsaKey();
  let out: string;
  let jwks: JwksServer;

  beforeAll(async () => {
    out = tempDir("image-");
    jwks = await startJwksServer(jwksOf(key));
    await promisify(execFile)("bash", [join(root, "scripts", "build-image.sh"), join(out, "app")], { timeout: 600_000 });
  }, 660_000);

  afterAll(async () => {
    await jwks?.close();
    if (out) removeTempDir(out);
  });

  it("makes the compiled server, the schema and the production dependencies only", () => {
    const app = join(out, "app");
    for (const path of [
      "dist/main.js",
      "dist/lambda.js",
      "schema/orders.graphql",
      "package.json",
      "package-lock.json",
      "node_modules/pg",
      "node_modules/@apollo/server",
    ]) {
      expect(existsSync(join(app, path)), path).toBe(true);
    }
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, entry]) => path.startsWith("node_modules/") && entry.dev === true);
    expect(devOnly.length).toBeGreaterThan(100);
    expect(devOnly.map(([path]) => path).filter((path) => existsSync(join(app, path)))).toEqual([]);
    expect(existsSync(join(app, "src"))).toBe(false);
  });

  it("starts as the image does, reports healthy and ready, answers a verified caller, and exits 0 on SIGTERM", async () => {
    const app = join(out, "app");
    const child = spawn(process.execPath, ["dist/main.js"], {
      cwd: app,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        PORT: "0",
        DATA_DIR: join(out, "data"),
        COGNITO_USER_POOL_ID: TEST_POOL_ID,
        COGNITO_CLIENT_ID: TEST_CLIENT_ID,
        COGNITO_JWKS_URI: jwks.url,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const look = () => {
          const match = /"url":"(http[^"]+)"/.exec(output);
          if (match) resolve(match[1]!);
          else if (child.exitCode !== null) reject(new Error(`the server exited:\n${output}`));
          else setTimeout(look, 50);
        };
        look();
      });
      const base = url.replace(/\/graphql$/, "");
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${base}/readyz`)).json()).toMatchObject({ status: "ready" });
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${signToken(key, accessClaims({ sub: "image-user" }))}` },
        body: JSON.stringify({ query: "{ me { sub } }" }),
      });
      expect(await response.json()).toEqual({ data: { me: { sub: "image-user" } } });
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
