import { defineConfig } from "vitest/config";

export default defineConfig({
  // graphql ships ESM (.mjs) and CommonJS builds; Node loads the CommonJS one for Apollo and graphql-tools, so
  // tests must too, or graphql-js sees two realms ("Cannot use GraphQLObjectType from another module").
  resolve: { alias: { graphql: "graphql/index.js" } },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/helpers/cleanup.ts"],
    // Integration tests start real HTTP servers; keep them in separate forks but bounded for 2 cores.
    pool: "forks",
    maxWorkers: 2,
    // Generous bounds: on a shared two-core machine at a load of 8-12 a server start with PGlite takes 30 s and
    // more. Tests wait on readiness, not on fixed sleeps, so a long bound costs nothing when the machine is idle.
    testTimeout: 90_000,
    hookTimeout: 180_000,
  },
});
