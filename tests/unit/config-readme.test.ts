/**
 * README's settings table and the settings parser (functions/config.ts and
 * functions/config/) name the same settings: every setting a parser reads has a
 * row, and every row names a setting some parser reads. The parsers are run on
 * a recording environment, so what counts is what they really read.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseClerkWebhookConfig, parseConfig } from "../../functions/config.ts";

const JWK = { kty: "EC", crv: "P-256", x: "x", y: "y", d: "d", kid: "key-1" };
/** A valid environment of both functions; SUPABASE_DB_URL so that DATABASE_URL's fallback is read too. */
const ENV: Record<string, string> = {
  CLERK_ISSUER: "https://example.clerk.accounts.dev",
  SUPABASE_URL: "https://ref.supabase.co",
  SESSION_SIGNING_JWK: JSON.stringify(JWK),
  SESSION_REFRESH_SECRET: "s".repeat(32),
  SUPABASE_DB_URL: "postgresql://postgres:pw@db.ref.supabase.co:5432/postgres",
  CLERK_WEBHOOK_SECRET: `whsec_${Buffer.alloc(24, 7).toString("base64")}`,
};

/** The names `parse` reads from its environment. */
function namesRead(parse: (env: Record<string, string | undefined>) => unknown): Set<string> {
  const read = new Set<string>();
  parse(
    new Proxy(ENV, {
      get(target, name) {
        if (typeof name === "string") read.add(name);
        return target[name as string];
      },
    }),
  );
  return read;
}

/** The setting names in the first column of README's "Settings" table (`A` or `A` / `B`). */
function readmeSettings(): Set<string> {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.split(/^## Settings$/m)[1].split(/^## /m)[0];
  const names = new Set<string>();
  for (const line of section.split("\n")) {
    const first = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (first === undefined) continue;
    for (const match of first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(match[1]);
  }
  return names;
}

describe("the README settings table", () => {
  it("lists exactly the settings the parsers read", () => {
    const parsed = new Set([...namesRead(parseConfig), ...namesRead(parseClerkWebhookConfig)]);
    const listed = readmeSettings();
    expect(listed.size).toBeGreaterThan(25);
    expect([...parsed].filter((name) => !listed.has(name)).sort(), "read but not in README").toEqual([]);
    expect([...listed].filter((name) => !parsed.has(name)).sort(), "in README but never read").toEqual([]);
  });
});
