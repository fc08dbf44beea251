/**
 * How `npm start` builds the functions' settings: `.env` parsing, the environment
 * over `.env` over local defaults, and the development issuer only without CLERK_ISSUER.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../functions/config.ts";
import { mergeSettings, parseDotenv } from "../../scripts/stack/env.ts";
import { generateKeys } from "../../scripts/stack/keys.ts";
import { isLocalDatabaseUrl } from "../../dev/loopback.ts";
import { functionSettings, stackUrls } from "../../scripts/stack/settings.ts";

describe("parseDotenv", () => {
  it("reads bare, quoted, multi-line and exported values, and skips comments", () => {
    const text = [
      "# a comment",
      "",
      "CLERK_ISSUER=https://x.clerk.accounts.dev   # trailing comment",
      "export SESSION_REUSE_GRACE = 5",
      'CLERK_JWT_KEY="-----BEGIN PUBLIC KEY-----',
      'MIIB\\"quoted\\"',
      '-----END PUBLIC KEY-----"',
      "SINGLE='a # not a comment \\n'",
      'ESCAPED="one\\ntwo"',
      "EMPTY=",
      "not a setting line",
      "URL=postgres://u:p@h/db?x=1#frag",
    ].join("\r\n");
    expect(parseDotenv(text)).toEqual({
      CLERK_ISSUER: "https://x.clerk.accounts.dev",
      SESSION_REUSE_GRACE: "5",
      CLERK_JWT_KEY: '-----BEGIN PUBLIC KEY-----\nMIIB"quoted"\n-----END PUBLIC KEY-----',
      SINGLE: "a # not a comment \\n",
      ESCAPED: "one\ntwo",
      EMPTY: "",
      URL: "postgres://u:p@h/db?x=1#frag",
    });
  });

  it("refuses an unclosed quote rather than swallowing the rest of the file", () => {
    expect(() => parseDotenv('A="open\nB=2\n')).toThrow(/A/);
  });
});

describe("mergeSettings", () => {
  it("lets the environment win over .env, and treats empty values as unset", () => {
    const merged = mergeSettings(
      { SESSION_ACCESS_TTL: "111", ALLOWED_ORIGINS: "https://a.test", CLERK_ISSUER: "" },
      { SESSION_ACCESS_TTL: "321", ALLOWED_ORIGINS: "" },
    );
    expect(merged).toEqual({ SESSION_ACCESS_TTL: "321", ALLOWED_ORIGINS: "https://a.test" });
  });
});

describe("functionSettings", () => {
  const keys = generateKeys();
  const urls = stackUrls(54321);
  const db = "postgresql://postgres:postgres@127.0.0.1:54322/postgres";

  it("without CLERK_ISSUER: the development issuer, pinned by its PEM key, and settings the function accepts", () => {
    const { env, devIssuer } = functionSettings({ PATH: "/bin" }, keys, urls, db);
    expect(devIssuer).toBe(true);
    expect(env.CLERK_ISSUER).toBe("http://127.0.0.1:54321/dev/clerk");
    expect(env.CLERK_JWT_KEY).toBe(keys.dev_clerk.public_pem);
    expect(env).not.toHaveProperty("PATH");
    const config = parseConfig(env);
    expect(config.session.issuer).toBe("http://127.0.0.1:54321/functions/v1/session");
    expect(config.clerk.authorizedParties).toEqual(["http://127.0.0.1:54321", "http://localhost:54321"]);
    expect(config.signingJwks[0]!.kid).toBe(keys.session_signing_jwk.kid);
    expect(config.refreshSecrets).toEqual([keys.session_refresh_secret]);
    expect(config.databaseUrl).toBe(db);
  });

  it("with CLERK_ISSUER: no development issuer and no local Clerk defaults", () => {
    const given = {
      CLERK_ISSUER: "https://x.clerk.accounts.dev",
      CLERK_AUTHORIZED_PARTIES: "https://app.test",
    };
    const { env, devIssuer, overridden } = functionSettings(given, keys, urls, db);
    expect(devIssuer).toBe(false);
    expect(env.CLERK_ISSUER).toBe("https://x.clerk.accounts.dev");
    expect(env).not.toHaveProperty("CLERK_JWT_KEY");
    expect(env.CLERK_AUTHORIZED_PARTIES).toBe("https://app.test");
    expect(overridden).toEqual(["CLERK_AUTHORIZED_PARTIES", "CLERK_ISSUER"]);
  });

  it("with SESSION_JWT_SECRET: HS256 only, no local ES256 key", () => {
    const given = {
      SESSION_JWT_SECRET: "x".repeat(40),
      CLERK_ISSUER: "https://x.clerk.accounts.dev",
    };
    const { env } = functionSettings(given, keys, urls, db);
    expect(env).not.toHaveProperty("SESSION_SIGNING_JWK");
    expect(parseConfig(env).signingJwks).toEqual([]);
  });

  it("keeps the database URL the harness answered, whatever was given", () => {
    const { env } = functionSettings({ DATABASE_URL: "postgres://localhost/db" }, keys, urls, db);
    expect(env.DATABASE_URL).toBe(db);
  });

  // Issue 12, item 7: the development issuer signs tokens for any user.
  it.each([
    ["a database elsewhere", {}, "postgresql://postgres:pw@db.abcdefgh.supabase.co:5432/postgres", /DATABASE_URL/],
    ["a signing key the user brought", { SESSION_SIGNING_JWK: "{}" }, db, /SESSION_SIGNING_JWK/],
    ["the project's legacy secret", { SESSION_JWT_SECRET: "x".repeat(40) }, db, /SESSION_JWT_SECRET/],
  ])("refuses the development issuer with %s", (_, given, databaseUrl, named) => {
    expect(() => functionSettings(given, keys, urls, databaseUrl)).toThrow(named);
    // With a real Clerk instance the same settings are fine.
    expect(functionSettings({ ...given, CLERK_ISSUER: "https://x.clerk.accounts.dev" }, keys, urls, databaseUrl))
      .toMatchObject({ devIssuer: false });
  });

  it.each([
    "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
    "postgres://u:p@localhost/db",
    "postgresql://u:p@[::1]:5432/db",
    "postgresql:///db?host=/var/run/postgresql",
  ])("counts %s as local", (url) => {
    expect(isLocalDatabaseUrl(url)).toBe(true);
  });

  it.each([
    "postgresql://u:p@db.ref.supabase.co:5432/postgres",
    "postgresql://u:p@127.0.0.1.nip.io/db",
    "postgresql://u:p@10.0.0.5/db",
    "postgresql://u:p@localhost.evil.example/db",
    "postgresql://u@localhost/db?host=db.example.com",
    "not a url",
  ])("counts %s as not local", (url) => {
    expect(isLocalDatabaseUrl(url)).toBe(false);
  });
});

describe("generateKeys", () => {
  it("makes fresh, well-formed keys each time", () => {
    const a = generateKeys();
    const b = generateKeys();
    expect(a.session_refresh_secret).not.toBe(b.session_refresh_secret);
    expect(Buffer.from(a.session_refresh_secret, "base64url")).toHaveLength(32);
    expect(a.clerk_webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(a.clerk_webhook_secret.slice(6), "base64")).toHaveLength(32);
    expect(a.session_signing_jwk).toMatchObject({ kty: "EC", crv: "P-256" });
    expect(a.dev_clerk.private_jwk).toMatchObject({ kty: "RSA" });
    expect(a.dev_clerk.public_pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(a.session_signing_jwk.kid).not.toBe(b.session_signing_jwk.kid);
  });
});
