/** Settings: defaults per SPEC, and every bad or missing setting named at start-up. */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../functions/config.ts";

const SECRET = "s".repeat(32);
const JWK = { kty: "EC", crv: "P-256", x: "x", y: "y", d: "d", kid: "key-1" };

const base = {
  CLERK_ISSUER: "https://example.clerk.accounts.dev",
  SUPABASE_URL: "https://ref.supabase.co",
  SESSION_SIGNING_JWK: JSON.stringify(JWK),
  SESSION_REFRESH_SECRET: SECRET,
  SUPABASE_DB_URL: "postgresql://postgres:pw@db.ref.supabase.co:5432/postgres",
};

function settingNamed(env: Record<string, string | undefined>): string {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.setting;
    throw error;
  }
  throw new Error("parseConfig accepted the settings");
}

describe("parseConfig", () => {
  it("fills SPEC's defaults", () => {
    const config = parseConfig(base);
    expect(config.session).toEqual({
      issuer: "https://ref.supabase.co/functions/v1/session",
      accessTtl: 600,
      idleTimeout: 604_800,
      absoluteLifetime: 2_592_000,
      impersonationLifetime: 3_600,
      reuseGrace: 10,
      theftScope: "family",
    });
    expect(config.dpop.mode).toBe("optional");
    expect(config.clerk.jwksUrl).toBe("https://example.clerk.accounts.dev/.well-known/jwks.json");
    expect(config.clerk.jwtKey).toBeNull();
    expect(config.databaseUrl).toBe(base.SUPABASE_DB_URL);
    expect(config.allowedOrigins).toEqual([]);
    expect(config.rateLimits).toEqual({
      start: { count: 20, seconds: 60 },
      refresh: { count: 120, seconds: 60 },
    });
  });

  it("is frozen all the way down", () => {
    const config = parseConfig({ ...base, SESSION_REFRESH_SECRET: `${SECRET},${"t".repeat(40)}` });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.session)).toBe(true);
    expect(Object.isFrozen(config.refreshSecrets)).toBe(true);
    expect(() => (config.refreshSecrets as string[]).push("x")).toThrow();
  });

  it("reads several refresh secrets and signing keys, newest first", () => {
    const config = parseConfig({
      ...base,
      SESSION_REFRESH_SECRET: ` ${"n".repeat(32)} , ${SECRET}`,
      SESSION_SIGNING_JWK: JSON.stringify([{ ...JWK, kid: "new" }, { ...JWK, kid: "old" }]),
    });
    expect(config.refreshSecrets).toEqual(["n".repeat(32), SECRET]);
    expect(config.signingJwks.map((jwk) => jwk.kid)).toEqual(["new", "old"]);
  });

  it("prefers DATABASE_URL over SUPABASE_DB_URL and takes every override", () => {
    const config = parseConfig({
      ...base,
      DATABASE_URL: "postgres://local/db",
      SESSION_ISSUER: "https://auth.example.com/session/",
      SESSION_ACCESS_TTL: "60",
      SESSION_IDLE_TIMEOUT: "2",
      SESSION_ABSOLUTE_LIFETIME: "3",
      SESSION_REUSE_GRACE: "0",
      SESSION_THEFT_SCOPE: "user",
      SESSION_DPOP: "off",
      ALLOWED_ORIGINS: "https://app.example.com, http://localhost:3000",
      SESSION_RATE_LIMITS: "refresh=5/10",
      CLERK_JWT_KEY: "-----BEGIN PUBLIC KEY-----\\nMIIB\\n-----END PUBLIC KEY-----",
    });
    expect(config.databaseUrl).toBe("postgres://local/db");
    expect(config.session).toMatchObject({
      issuer: "https://auth.example.com/session",
      accessTtl: 60,
      idleTimeout: 2,
      absoluteLifetime: 3,
      reuseGrace: 0,
      theftScope: "user",
    });
    expect(config.dpop.mode).toBe("off");
    expect(config.allowedOrigins).toEqual(["https://app.example.com", "http://localhost:3000"]);
    expect(config.rateLimits).toEqual({
      start: { count: 20, seconds: 60 },
      refresh: { count: 5, seconds: 10 },
    });
    expect(config.clerk.jwtKey).toBe("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----");
    expect(parseConfig({ ...base, SESSION_RATE_LIMITS: "off" }).rateLimits).toBeNull();
    expect(parseConfig({ ...base, ALLOWED_ORIGINS: "*" }).allowedOrigins).toBe("*");
    expect(parseConfig(base).clientIp).toEqual({ kind: "header", name: "cf-connecting-ip" });
    expect(parseConfig({ ...base, SESSION_CLIENT_IP: "forwarded-first" }).clientIp)
      .toEqual({ kind: "forwarded", pick: "first" });
    expect(parseConfig({ ...base, SESSION_CLIENT_IP: "forwarded-last" }).clientIp)
      .toEqual({ kind: "forwarded", pick: "last" });
    expect(parseConfig({ ...base, SESSION_CLIENT_IP: "header:CF-Connecting-IP" }).clientIp)
      .toEqual({ kind: "header", name: "cf-connecting-ip" });
    expect([...parseConfig(base).forwardingKeys]).toEqual([]);
    const [a, b] = ["A".repeat(43), "b_-".repeat(14) + "c"];
    expect([...parseConfig({ ...base, SESSION_FORWARDING_KEYS: ` ${a}, ${b} ` }).forwardingKeys]).toEqual([a, b]);
  });

  it("accepts the HS256 legacy secret instead of a JWK", () => {
    const config = parseConfig({
      ...base,
      SESSION_SIGNING_JWK: undefined,
      SESSION_JWT_SECRET: "j".repeat(40),
    });
    expect(config.signingJwks).toEqual([]);
    expect(config.jwtSecret).toBe("j".repeat(40));
  });

  it.each([
    ["CLERK_ISSUER", { CLERK_ISSUER: undefined }],
    ["CLERK_ISSUER", { CLERK_ISSUER: "not a url" }],
    ["CLERK_ISSUER", { CLERK_ISSUER: "http://example.clerk.accounts.dev" }],
    ["CLERK_JWKS_URL", { CLERK_JWKS_URL: "ftp://x/jwks" }],
    ["CLERK_JWT_KEY", { CLERK_JWT_KEY: "not a pem" }],
    ["CLERK_AUTHORIZED_PARTIES", { CLERK_ISSUER: "https://clerk.example.com" }],
    ["CLERK_AUTHORIZED_PARTIES", { CLERK_AUTHORIZED_PARTIES: "app.example.com" }],
    ["SESSION_ISSUER", { SUPABASE_URL: undefined }],
    ["SESSION_SIGNING_JWK", { SESSION_SIGNING_JWK: undefined }],
    ["SESSION_SIGNING_JWK", { SESSION_SIGNING_JWK: "{" }],
    ["SESSION_SIGNING_JWK", { SESSION_SIGNING_JWK: "[]" }],
    ["SESSION_SIGNING_JWK", { SESSION_SIGNING_JWK: JSON.stringify({ ...JWK, d: undefined }) }],
    ["SESSION_SIGNING_JWK", { SESSION_SIGNING_JWK: JSON.stringify({ ...JWK, kid: undefined }) }],
    ["SESSION_SIGNING_JWK", { SESSION_SIGNING_JWK: JSON.stringify({ ...JWK, crv: "P-384" }) }],
    ["SESSION_SIGNING_JWK", { SESSION_SIGNING_JWK: JSON.stringify({ kty: "RSA", kid: "r" }) }],
    ["SESSION_SIGNING_JWK", { SESSION_SIGNING_JWK: JSON.stringify([JWK, JWK]) }],
    ["SESSION_JWT_SECRET", { SESSION_SIGNING_JWK: undefined, SESSION_JWT_SECRET: "short" }],
    ["SESSION_REFRESH_SECRET", { SESSION_REFRESH_SECRET: undefined }],
    ["SESSION_REFRESH_SECRET", { SESSION_REFRESH_SECRET: "x".repeat(31) }],
    ["SESSION_REFRESH_SECRET", { SESSION_REFRESH_SECRET: `${SECRET},short` }],
    ["SESSION_REFRESH_SECRET", { SESSION_REFRESH_SECRET: `${SECRET},${SECRET}` }],
    ["SESSION_ACCESS_TTL", { SESSION_ACCESS_TTL: "0" }],
    ["SESSION_ACCESS_TTL", { SESSION_ACCESS_TTL: "10m" }],
    ["SESSION_ACCESS_TTL", { SESSION_ACCESS_TTL: "-5" }],
    ["SESSION_IDLE_TIMEOUT", { SESSION_IDLE_TIMEOUT: "1.5" }],
    ["SESSION_ABSOLUTE_LIFETIME", { SESSION_ABSOLUTE_LIFETIME: "99999999999" }],
    ["SESSION_REUSE_GRACE", { SESSION_REUSE_GRACE: "61" }],
    ["SESSION_THEFT_SCOPE", { SESSION_THEFT_SCOPE: "everyone" }],
    ["SESSION_DPOP", { SESSION_DPOP: "yes" }],
    ["DATABASE_URL", { SUPABASE_DB_URL: undefined }],
    ["DATABASE_URL", { DATABASE_URL: "mysql://x" }],
    ["ALLOWED_ORIGINS", { ALLOWED_ORIGINS: "https://app.example.com/path" }],
    ["SESSION_RATE_LIMITS", { SESSION_RATE_LIMITS: "start=0/60" }],
    ["SESSION_RATE_LIMITS", { SESSION_RATE_LIMITS: "login=5/60" }],
    // Beyond what sessionguard.check_rate_limit takes (the per-ip budget is 10x the count).
    ["SESSION_RATE_LIMITS", { SESSION_RATE_LIMITS: "refresh=200000/60" }],
    ["SESSION_RATE_LIMITS", { SESSION_RATE_LIMITS: "start=20/100000" }],
    ["SESSION_RATE_LIMITS", { SESSION_RATE_LIMITS: "start=1000001/60" }],
    ["SESSION_RATE_LIMITS", { SESSION_RATE_LIMITS: "refresh=5/86401" }],
    ["SESSION_RATE_LIMITS", { SESSION_RATE_LIMITS: "start=5/60,start=6/60" }],
    ["SESSION_CLIENT_IP", { SESSION_CLIENT_IP: "header:" }],
    ["SESSION_CLIENT_IP", { SESSION_CLIENT_IP: "remote-addr" }],
    ["SESSION_FORWARDING_KEYS", { SESSION_FORWARDING_KEYS: "A".repeat(42) }],
    ["SESSION_FORWARDING_KEYS", { SESSION_FORWARDING_KEYS: "A".repeat(43) + "=" }],
    ["SESSION_FORWARDING_KEYS", { SESSION_FORWARDING_KEYS: Array(21).fill("A".repeat(43)).join(",") }],
  ])("names %s when it is bad (%j)", (setting, override) => {
    expect(settingNamed({ ...base, ...override })).toBe(setting);
  });

  it("never puts a secret in its message", () => {
    const secret = "super-secret-value-that-is-short";
    try {
      parseConfig({ ...base, SESSION_REFRESH_SECRET: `${SECRET},${secret.slice(0, 20)}` });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(secret.slice(0, 20));
    }
  });
});
