import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generate } from "@graphql-codegen/cli";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codegenConfig } from "../../../codegen.js";
import { applyAuthDirectives } from "../../../src/auth/index.js";
import { accessManifest } from "../../../src/graphql/access-manifest.js";
import { buildSchema } from "../../../src/graphql/schema.js";
import { startApp, type TestApp } from "../../helpers/app.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const CLIENT_DIR = "src/__generated__/client/";

/** The client job's files, generated in memory (nothing is written), by name relative to the output folder. */
async function clientFiles(env: Record<string, string>): Promise<Record<string, string>> {
  const outputs: { filename: string; content: string }[] = await generate({ ...codegenConfig(env), cwd: ROOT, silent: true }, false);
  const files = outputs.filter((o) => o.filename.includes(CLIENT_DIR));
  return Object.fromEntries(files.map((o) => [o.filename.slice(o.filename.indexOf(CLIENT_DIR) + CLIENT_DIR.length), o.content]));
}

describe("the client codegen job", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(() => app.close());

  it("produces the same typed documents from the running dev server (SCHEMA_URL) as from the schema files", async () => {
    const fromFiles = await clientFiles({});
    const fromServer = await clientFiles({ SCHEMA_URL: app.url });
    expect(Object.keys(fromFiles).sort()).toEqual(["gql.ts", "graphql.ts", "index.ts"]);
    expect(fromFiles["graphql.ts"]).toContain("export const PlaceOrderDocument");
    expect(fromServer).toEqual(fromFiles);
  });

  it("reads SCHEMA_URL rather than the files when it is set", async () => {
    // Port 1, which nothing binds: not a port taken and released, which a parallel suite's server may get meanwhile.
    await expect(clientFiles({ SCHEMA_URL: "http://127.0.0.1:1/graphql" })).rejects.toThrow();
  });
});

describe("the published schema artifact", () => {
  const artifact = readFileSync(join(ROOT, "src/__generated__/schema.graphql"), "utf8");

  it("carries the @auth and @public usages, not only their definitions", () => {
    expect(artifact).toContain('type Order @auth(requires: ["owner:customerId|group:support|');
    expect(artifact).toContain('costPriceCents: NonNegativeInt @auth(requires: ["group:admin"])');
    expect(artifact).toContain("me: Principal @public");
  });

  it("yields exactly the access rules of the schema files when a consumer builds it", () => {
    const consumer = applyAuthDirectives(makeExecutableSchema({ typeDefs: artifact }));
    expect(accessManifest(consumer)).toEqual(accessManifest(buildSchema()));
  });
});
