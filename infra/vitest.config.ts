import { defineConfig } from "vitest/config";

// The infra tests synthesize the stack in-process (aws-cdk-lib from infra/node_modules); vitest itself is the
// repository's (npm ci at the root first).
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ["test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 120_000,
  },
});
