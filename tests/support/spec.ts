/**
 * The contract's closed set of error codes and their statuses, read from the **Errors**
 * paragraph of docs/contract.md (what users read), as the tests' oracle: independent of
 * functions/errors.ts, so the code, the docs and the tests must all agree.
 * `server_error` is 500 or 503; the first status named is the one kept.
 */
import fs from "node:fs";
import path from "node:path";

function errorsFromContract(): Record<string, number> {
  const contract = fs.readFileSync(path.join(import.meta.dirname, "..", "..", "docs", "contract.md"), "utf8");
  const paragraph = contract.split(/\n\s*\n/).find((p) => p.startsWith("**Errors**"));
  if (!paragraph) throw new Error("docs/contract.md has no **Errors** paragraph");
  const statuses: Record<string, number> = {};
  for (const [, code, status] of paragraph.matchAll(/`([a-z_]+)` (\d{3})/g)) {
    statuses[code] ??= Number(status);
  }
  return statuses;
}

export const SPEC_STATUS: Readonly<Record<string, number>> = Object.freeze(errorsFromContract());
