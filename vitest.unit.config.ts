import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

/**
 * `npm run test:unit`: the fast layer, `test/unit/`, which mirrors `src/` (docs/testing.md). Its tests run the
 * product inside the test's own process: no server of ours listening, no child process, emulator or browser.
 * Operations go through the composed application with Apollo's `executeOperation` (`test/helpers/operations.ts`)
 * on an in-process PGlite, and on PostgreSQL too when `TEST_DATABASE_URL` is set. `npm test` runs these and
 * `test/e2e/`.
 */
// Spread, not mergeConfig: mergeConfig would append this glob to the base's `test/**/*.test.ts`.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["test/unit/**/*.test.ts"],
  },
});
