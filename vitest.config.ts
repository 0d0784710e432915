import { defineConfig } from "vitest/config";

export default defineConfig({
  // graphql ships ESM (.mjs) and CommonJS builds; Node loads the CommonJS one for Apollo and graphql-tools, so
  // tests must too, or graphql-js sees two realms ("Cannot use GraphQLObjectType from another module").
  resolve: { alias: { graphql: "graphql/index.js" } },
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real HTTP servers; keep them in separate forks but bounded for 2 cores.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
