/**
 * Logged errors lose the credentials of any URL in them (functions/describe-error.ts):
 * the last line of defence behind the DATABASE_URL check, for an error a driver or the
 * runtime words with the URL in it (Deno: `Invalid URL: '<url>'`).
 */
import { describe as group, expect, it } from "vitest";
import { describe, withoutCredentials } from "../../functions/describe-error.ts";

const PASSWORD = "Pw0-never-logged";

group("withoutCredentials", () => {
  it.each([
    `Invalid URL: 'postgres://app:${PASSWORD}@db.example.com:port/postgres'`,
    `Invalid URL: 'postgresql://app:${PASSWORD}/x@db.example.com:5432/postgres'`,
    `Invalid URL: 'postgres://app:${PASSWORD}@ss@db.example.com/postgres'`,
    `connect to postgres://app:${PASSWORD}@10.0.0.5:6543/app failed`,
    `"postgres://app:${PASSWORD}@h/db"`,
  ])("%s", (text) => {
    const cleaned = withoutCredentials(text);
    expect(cleaned).not.toContain(PASSWORD.slice(0, 6));
    expect(cleaned).toMatch(/postgres(ql)?:\/\/\*\*\*@/);
  });

  it("leaves URLs without credentials and plain text alone", () => {
    for (const text of ["GET https://example.com/a/b?c=d", "role \"x\" does not exist", "postgres://h:5432/db"]) {
      expect(withoutCredentials(text)).toBe(text);
    }
  });

  it("applies to describe()", () => {
    expect(describe(new TypeError(`Invalid URL: 'postgres://a:${PASSWORD}@h:x/db'`))).toBe(
      "TypeError: Invalid URL: 'postgres://***@h:x/db'",
    );
  });
});
