/**
 * vitest globalSetup: one prepared PostgreSQL 17 for the whole run.
 *
 * Tests read its URL with `inject("databaseUrl")` (or `testDatabaseUrl()` from
 * tests/support/context.ts); it is also in process.env.SG_TEST_DATABASE_URL for child
 * processes such as the Deno server. When SG_TEST_DATABASE_URL or DATABASE_URL is
 * already set, that server is used and left running.
 */
import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { repoRoot, startDatabase } from "../../scripts/lib/local-postgres.ts";
import { applyExampleTables } from "../../scripts/stack/example-tables.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the prepared test database (superuser `postgres`). */
    databaseUrl: string;
    /** Its major version. */
    databaseVersion: number;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Deno's cache gets the functions' npm imports before any test starts a function
  // with a trimmed environment (scripts/deno-cache.sh says why); a no-op when full.
  execFileSync("bash", ["scripts/deno-cache.sh"], { cwd: repoRoot, stdio: "inherit" });
  const given = process.env.SG_TEST_DATABASE_URL;
  if (given) {
    // The examples' notes table, as npm start creates it: present from the start, so no
    // suite races another (or a test stack) to create it.
    await applyExampleTables(repoRoot, given);
    project.provide("databaseUrl", given);
    project.provide("databaseVersion", 0);
    return async () => {};
  }
  const db = await startDatabase({ version: 17, name: "vitest", ephemeral: true });
  process.env.SG_TEST_DATABASE_URL = db.url;
  await applyExampleTables(repoRoot, db.url);
  project.provide("databaseUrl", db.url);
  project.provide("databaseVersion", db.version);
  if (process.env.SG_DB_LOG === "1") {
    console.error(`[global-setup] PostgreSQL ${db.version} at ${db.url} (${JSON.stringify(db.timings)})`);
  }
  return async () => {
    delete process.env.SG_TEST_DATABASE_URL;
    await db.stop();
  };
}
