/**
 * The contract's settings table (docs/contract.md) and the settings parsers
 * (functions/config.ts and functions/config/) name the same settings: every
 * setting a parser reads has a row, and every row names a setting some parser
 * reads. The parsers are run on a recording environment, so what counts is what
 * they really read. And no other page contradicts the contract: wherever README
 * or docs/ give a setting's default in a table, it is the contract's.
 */
import { readdirSync, readFileSync } from "node:fs";
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

const root = new URL("../../", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), "utf8");

/** The rows of the markdown tables in `section` whose header has a "default" column: setting -> default. */
function defaultsIn(markdown: string): Map<string, string> {
  const defaults = new Map<string, string>();
  let column = -1;
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("|")) {
      column = -1;
      continue;
    }
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
    if (column === -1) {
      // A table of another program's settings (your function's requireSession) is not the contract's.
      column = cells[0]?.includes("requireSession") ? -2 : cells.findIndex((cell) => cell.toLowerCase() === "default");
      continue;
    }
    if (column < 0 || cells.length <= column || /^-+$/.test(cells[0])) continue;
    for (const match of cells[0].matchAll(/`([A-Z][A-Z0-9_]+)`/g)) defaults.set(match[1], cells[column]);
  }
  return defaults;
}

/** The contract's settings table: name -> default. */
function contractSettings(): Map<string, string> {
  const section = read("docs/contract.md").split(/^## Settings$/m)[1].split(/^## /m)[0];
  return defaultsIn(section);
}

describe("the contract's settings table", () => {
  it("lists exactly the settings the parsers read", () => {
    const parsed = new Set([...namesRead(parseConfig), ...namesRead(parseClerkWebhookConfig)]);
    const listed = new Set(contractSettings().keys());
    expect(listed.size).toBeGreaterThan(25);
    expect([...parsed].filter((name) => !listed.has(name)).sort(), "read but not in docs/contract.md").toEqual([]);
    expect([...listed].filter((name) => !parsed.has(name)).sort(), "in docs/contract.md but never read").toEqual([]);
  });

  it("is contradicted nowhere: every other table giving a setting's default gives the contract's", () => {
    const contract = contractSettings();
    const pages = ["README.md", ...readdirSync(new URL("docs/", root)).map((file) => `docs/${file}`)]
      .filter((file) => file.endsWith(".md") && file !== "docs/contract.md");
    const contradictions: string[] = [];
    for (const page of pages) {
      for (const [name, value] of defaultsIn(read(page))) {
        const expected = contract.get(name);
        if (expected !== undefined && expected !== value) contradictions.push(`${page}: ${name} = ${value}, contract: ${expected}`);
      }
    }
    expect(contradictions).toEqual([]);
  });
});
