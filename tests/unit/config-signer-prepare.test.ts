/**
 * SESSION_SIGNER and SESSION_DB_PREPARE (functions/config.ts): defaults, bad
 * values named at start-up, and the URL rules that keep prepared statements
 * off behind a transaction pooler. Hosts and ports as Supabase documents them
 * ("Connect to your database", supabase.com/docs/guides/database/connecting-to-postgres):
 * direct db.<ref>.supabase.co:5432, Supavisor *.pooler.supabase.com:5432
 * (session mode) and :6543 (transaction mode), PgBouncer db.<ref>.supabase.co:6543.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, preparedStatements } from "../../functions/config.ts";

const base = {
  CLERK_ISSUER: "https://example.clerk.accounts.dev",
  SUPABASE_URL: "https://ref.supabase.co",
  SESSION_SIGNING_JWK: JSON.stringify({ kty: "EC", crv: "P-256", x: "x", y: "y", d: "d", kid: "key-1" }),
  SESSION_REFRESH_SECRET: "s".repeat(32),
};

function settingNamed(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.setting;
    throw error;
  }
  throw new Error("parseConfig accepted the settings");
}

describe("SESSION_SIGNER", () => {
  it("defaults to auto and accepts webcrypto and noble", () => {
    expect(parseConfig({ ...base, DATABASE_URL: "postgres://h/db" }).signer).toBe("auto");
    for (const value of ["webcrypto", "noble", "auto"]) {
      expect(parseConfig({ ...base, DATABASE_URL: "postgres://h/db", SESSION_SIGNER: value }).signer).toBe(
        value,
      );
    }
  });

  it("names itself when the value is unknown", () => {
    for (const value of ["openssl", "NOBLE", "ed25519"]) {
      expect(settingNamed({ ...base, DATABASE_URL: "postgres://h/db", SESSION_SIGNER: value }))
        .toBe("SESSION_SIGNER");
    }
  });
});

describe("SESSION_DB_PREPARE", () => {
  const cases: [string, boolean][] = [
    ["postgresql://postgres:pw@db.abcdefghijklmnop.supabase.co:5432/postgres", true],
    ["postgresql://postgres:pw@db.abcdefghijklmnop.supabase.co/postgres", true],
    ["postgresql://postgres.abcdefghijklmnop:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres", true],
    ["postgresql://postgres.abcdefghijklmnop:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres", false],
    ["postgresql://postgres:pw@db.abcdefghijklmnop.supabase.co:6543/postgres", false],
    ["postgresql://postgres:pw@db.abcdefghijklmnop.supabase.co:5432/postgres?pgbouncer=true", false],
    ["postgres://app:pw@10.0.0.5:6543/app?sslmode=require", false],
    ["postgres://app:pw@pgbouncer.internal:5432/app?pgbouncer=true", false],
    // A transaction pooler on 5432 under any other name: only a documented host is trusted.
    ["postgres://app:pw@pgbouncer.internal:5432/app", false],
    ["postgres://postgres@127.0.0.1:54322/postgres", false],
    ["postgres://app:pw@h1:5432,h2:6543/app", false],
    ["postgresql://postgres:pw@db.abcdefghijklmnop.supabase.co.evil.example:5432/postgres", false],
  ];

  it.each(cases)("auto: %s → prepared %s", (url, prepared) => {
    expect(preparedStatements("auto", url)).toBe(prepared);
    expect(parseConfig({ ...base, DATABASE_URL: url, SESSION_DB_PREPARE: "auto" }).databasePrepare).toBe(
      prepared,
    );
    expect(parseConfig({ ...base, SUPABASE_DB_URL: url, SESSION_DB_PREPARE: "auto" }).databasePrepare).toBe(
      prepared,
    );
  });

  it("defaults to off, even on a direct URL", () => {
    for (const [url] of cases) expect(parseConfig({ ...base, DATABASE_URL: url }).databasePrepare).toBe(false);
  });

  it("on and off override the URL", () => {
    const pooled = "postgresql://p:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres";
    const direct = "postgresql://p:pw@db.abcdefghijklmnop.supabase.co:5432/postgres";
    expect(parseConfig({ ...base, DATABASE_URL: pooled, SESSION_DB_PREPARE: "on" }).databasePrepare).toBe(
      true,
    );
    expect(parseConfig({ ...base, DATABASE_URL: direct, SESSION_DB_PREPARE: "off" }).databasePrepare).toBe(
      false,
    );
  });

  it("names itself when the value is unknown", () => {
    for (const value of ["yes", "true", "1", "session"]) {
      expect(settingNamed({ ...base, DATABASE_URL: "postgres://h/db", SESSION_DB_PREPARE: value }))
        .toBe("SESSION_DB_PREPARE");
    }
  });
});
