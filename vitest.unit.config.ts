import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

/**
 * `npm run test:unit`: the fast layer, the tests that run in the test's own process with no server, database,
 * child process, emulator or browser (pure functions, the verifier with keys and a key set served in-process,
 * configuration, the docs' links). Under a minute; `npm test` runs these and everything else.
 */
// Spread, not mergeConfig: mergeConfig would append these globs to the base's `test/**/*.test.ts`.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      "test/auth/**/*.test.ts",
      "test/graphql/access-manifest.test.ts",
      "test/graphql/order-events.test.ts",
      "test/graphql/schema.test.ts",
      "test/config.test.ts",
      "test/docs.test.ts",
      "test/logger.test.ts",
      "test/metrics.test.ts",
      "test/setting-hints.test.ts",
    ],
    // These two start the server on an embedded database for some of their cases.
    exclude: ["test/auth/directive.test.ts", "test/auth/operation-check.test.ts"],
  },
});
