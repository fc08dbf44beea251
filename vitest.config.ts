import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // @sessionguard/server signs its DPoP proofs with @sessionguard/client: in this
  // repository the import resolves to the client's sources, as tsconfig.json's paths say.
  resolve: {
    alias: { "@sessionguard/client": path.join(import.meta.dirname, "packages", "client", "src", "index.ts") },
  },
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/support/global-setup.ts"],
    environment: "node",
    // Real Postgres and real Deno servers: start-up and races need room.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // Files share one database; each test uses its own users and sessions, so files
    // may run in parallel. Set SG_TEST_SERIAL=1 to run them one by one when debugging.
    fileParallelism: process.env.SG_TEST_SERIAL !== "1",
    pool: "forks",
  },
});
