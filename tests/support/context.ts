/**
 * What tests get from the global setup (tests/support/global-setup.ts).
 * Import only from test files: `inject` works inside a vitest worker.
 */
import { inject } from "vitest";
import type {} from "./global-setup.ts";

/** URL of the run's prepared database, connected as the superuser `postgres`. */
export function testDatabaseUrl(): string {
  const url = inject("databaseUrl");
  if (!url) throw new Error("no test database: run through vitest with tests/support/global-setup.ts");
  return url;
}
