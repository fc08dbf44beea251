/**
 * Properties of settings parsing (functions/config.ts): whatever the
 * environment holds, parseConfig either returns a frozen config or throws a
 * ConfigError naming a setting — never anything else, and never with a secret
 * in its message; and every valid environment parses, with its values kept.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../functions/config.ts";

const NAMES = [
  "CLERK_ISSUER",
  "CLERK_JWKS_URL",
  "CLERK_JWT_KEY",
  "CLERK_AUTHORIZED_PARTIES",
  "SUPABASE_URL",
  "SESSION_ISSUER",
  "SESSION_SIGNING_JWK",
  "SESSION_JWT_SECRET",
  "SESSION_REFRESH_SECRET",
  "SESSION_ACCESS_TTL",
  "SESSION_IDLE_TIMEOUT",
  "SESSION_ABSOLUTE_LIFETIME",
  "SESSION_REUSE_GRACE",
  "SESSION_THEFT_SCOPE",
  "SESSION_DPOP",
  "DATABASE_URL",
  "SUPABASE_DB_URL",
  "ALLOWED_ORIGINS",
  "SESSION_RATE_LIMITS",
];

const SECRET_VALUE = "s3cr3t-value-that-must-never-be-printed-0123456789";

/** Values that are each valid for some setting (or nearly), and plenty that are not. */
const SAMPLES = [
  "",
  " ",
  "off",
  "0",
  "-1",
  "60",
  "2147483648",
  "1e3",
  "family",
  "user",
  "required",
  "https://example.clerk.accounts.dev",
  "http://localhost:3000",
  "http://127.0.0.1:1",
  "https://a.example/x?y=1",
  "javascript:alert(1)",
  "postgresql://postgres:pw@127.0.0.1:5432/postgres",
  "postgres://",
  "*",
  "start=20/60,refresh=120/60",
  "start=0/60",
  "refresh=1/0",
  '{"kty":"EC","crv":"P-256","x":"x","y":"y","d":"d","kid":"k"}',
  '[{"kty":"EC","crv":"P-256","x":"x","y":"y","d":"d","kid":"k"},{"kty":"EC","crv":"P-256","x":"x","y":"y","d":"d","kid":"k"}]',
  '{"kty":"RSA"}',
  "[]",
  "null",
  "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----",
  SECRET_VALUE,
  `${SECRET_VALUE},${SECRET_VALUE}`,
];
const anyValue = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.constantFrom(...SAMPLES),
);

/** A host name of letters and digits. */
const label = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
  minLength: 1,
  maxLength: 12,
});
const httpsOrigin = fc.tuple(label, label).map(([a, b]) => `https://${a}.${b}.example`);
const loopbackOrigin = fc.tuple(
  fc.constantFrom("localhost", "127.0.0.1"),
  fc.integer({ min: 1024, max: 65535 }),
)
  .map(([host, port]) => `http://${host}:${port}`);
/** A secret of at least 32 bytes, no comma (the list separator), no surrounding space. */
const secret = fc.string({ unit: "binary", minLength: 32, maxLength: 64 })
  .map((s) => s.replace(/[,\s]/g, "x"))
  .filter((s) => new TextEncoder().encode(s).byteLength >= 32);
const kid = fc.string({ unit: fc.constantFrom(..."abcXYZ019_-."), minLength: 1, maxLength: 64 });
const jwk = kid.map((k) => ({ kty: "EC", crv: "P-256", x: "x", y: "y", d: "d", kid: k }));

/** Environments that SPEC says must start. */
const validEnv = fc.record({
  issuer: fc.oneof(httpsOrigin, loopbackOrigin),
  parties: fc.array(fc.oneof(httpsOrigin, loopbackOrigin), { minLength: 1, maxLength: 4 }),
  sessionIssuer: httpsOrigin,
  keys: fc.uniqueArray(jwk, { minLength: 1, maxLength: 3, selector: (key) => key.kid }),
  useJwtSecret: fc.boolean(),
  refreshSecrets: fc.uniqueArray(secret, { minLength: 1, maxLength: 3 }),
  accessTtl: fc.integer({ min: 1, max: 86_400 }),
  idle: fc.integer({ min: 1, max: 2_147_483_647 }),
  absolute: fc.integer({ min: 1, max: 2_147_483_647 }),
  grace: fc.integer({ min: 0, max: 60 }),
  scope: fc.constantFrom("family", "user"),
  dpop: fc.constantFrom("off", "optional", "required"),
  origins: fc.oneof(fc.constant(["*"]), fc.array(fc.oneof(httpsOrigin, loopbackOrigin), { maxLength: 3 })),
  limits: fc.oneof(
    fc.constant("off"),
    // The bounds sessionguard.check_rate_limit takes (rate-limits.property.test.ts asks the SQL).
    fc.tuple(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 86_400 }))
      .map(([count, seconds]) => `refresh=${count}/${seconds},start=${count}/${seconds}`),
  ),
  padding: fc.constantFrom("", " ", "  "),
});

const SECRET_SETTINGS = [
  "SESSION_REFRESH_SECRET",
  "SESSION_JWT_SECRET",
  "SESSION_SIGNING_JWK",
  "DATABASE_URL",
  "SUPABASE_DB_URL",
];

/**
 * Secret values of a record (whole, and each listed part) that no other setting also holds:
 * the planted canaries, and random values (a sample such as "start=20/60,..." may
 * rightly appear in a message as an example).
 */
function secretsIn(env: Record<string, string | undefined>): string[] {
  const others = Object.entries(env).filter(([name]) => !SECRET_SETTINGS.includes(name)).map(([, v]) =>
    v ?? ""
  );
  return SECRET_SETTINGS.flatMap((name) => {
    const value = env[name]?.trim() ?? "";
    const planted = !SAMPLES.includes(value) || value.includes(SECRET_VALUE) || value.includes(":pw@");
    return planted ? [value, ...value.split(",").map((part) => part.trim())] : [];
  }).filter((secret) => secret.length >= 12 && !others.some((other) => other.includes(secret)));
}

type ValidSettings = typeof validEnv extends fc.Arbitrary<infer T> ? T : never;

/** The environment record of valid settings. */
function toEnv(v: ValidSettings): Record<string, string | undefined> {
  const pad = (value: string) => `${v.padding}${value}${v.padding}`;
  return {
    CLERK_ISSUER: pad(v.issuer),
    CLERK_AUTHORIZED_PARTIES: v.parties.join(" , "),
    SESSION_ISSUER: v.sessionIssuer,
    SESSION_SIGNING_JWK: v.useJwtSecret ? undefined : JSON.stringify(v.keys),
    SESSION_JWT_SECRET: v.useJwtSecret ? v.refreshSecrets[0] : undefined,
    SESSION_REFRESH_SECRET: v.refreshSecrets.join(","),
    SESSION_ACCESS_TTL: pad(String(v.accessTtl)),
    SESSION_IDLE_TIMEOUT: String(v.idle),
    SESSION_ABSOLUTE_LIFETIME: String(v.absolute),
    SESSION_REUSE_GRACE: String(v.grace),
    SESSION_THEFT_SCOPE: v.scope,
    SESSION_DPOP: v.dpop,
    DATABASE_URL: "postgresql://postgres:pw@127.0.0.1:5432/postgres",
    ALLOWED_ORIGINS: v.origins.join(","),
    SESSION_RATE_LIMITS: v.limits,
  };
}

/** Random records, and valid ones with a few settings replaced by anything. */
const anyEnv = fc.oneof(
  fc.dictionary(
    fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 10 })),
    fc.option(anyValue, { nil: undefined }),
    {
      maxKeys: 25,
    },
  ),
  fc.tuple(
    validEnv,
    fc.dictionary(fc.constantFrom(...NAMES), fc.option(anyValue, { nil: undefined }), {
      minKeys: 1,
      maxKeys: 3,
    }),
  ).map(([valid, changes]) => ({ ...toEnv(valid), ...changes })),
);

describe("settings: properties", () => {
  it("random environments never throw anything but a ConfigError, and never print a secret", () => {
    const named = new Set<string>();
    let parsed = 0;
    fc.assert(
      fc.property(anyEnv, (env) => {
        try {
          const config = parseConfig(env);
          expect(Object.isFrozen(config) && Object.isFrozen(config.session)).toBe(true);
          parsed++;
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          const { setting, message } = error as ConfigError;
          expect(NAMES).toContain(setting);
          for (const secret of secretsIn(env)) expect(message).not.toContain(secret);
          named.add(setting);
        }
      }),
      { numRuns: 3000 },
    );
    // The generator reaches deep: many different settings were refused, and some records passed.
    expect(named.size).toBeGreaterThanOrEqual(12);
    expect(parsed).toBeGreaterThan(100);
  });

  it("every valid environment parses, and keeps its values", () => {
    fc.assert(
      fc.property(validEnv, (v) => {
        const config = parseConfig(toEnv(v));
        expect(config.clerk.issuer).toBe(v.issuer);
        expect(config.clerk.authorizedParties).toEqual(v.parties);
        expect(config.refreshSecrets).toEqual(v.refreshSecrets);
        expect(config.signingJwks.map((key) => key.kid)).toEqual(
          v.useJwtSecret ? [] : v.keys.map((k) => k.kid),
        );
        expect(config.session).toMatchObject({
          accessTtl: v.accessTtl,
          idleTimeout: v.idle,
          absoluteLifetime: v.absolute,
          reuseGrace: v.grace,
          theftScope: v.scope,
        });
        expect(config.dpop.mode).toBe(v.dpop);
        expect(config.allowedOrigins).toEqual(v.origins.includes("*") ? "*" : v.origins);
        expect(config.rateLimits === null).toBe(v.limits === "off");
      }),
      { numRuns: 1000 },
    );
  });

  it("any out-of-range number is refused, naming its setting", () => {
    const base = {
      CLERK_ISSUER: "https://example.clerk.accounts.dev",
      SUPABASE_URL: "https://ref.supabase.co",
      SESSION_JWT_SECRET: "j".repeat(32),
      SESSION_REFRESH_SECRET: "r".repeat(32),
      DATABASE_URL: "postgresql://localhost/postgres",
    };
    const ranges: Record<string, [number, number]> = {
      SESSION_ACCESS_TTL: [1, 86_400],
      SESSION_IDLE_TIMEOUT: [1, 2_147_483_647],
      SESSION_ABSOLUTE_LIFETIME: [1, 2_147_483_647],
      SESSION_REUSE_GRACE: [0, 60],
      SESSION_IMPERSONATION_LIFETIME: [60, 2_147_483_647],
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(ranges)),
        fc.oneof(fc.integer(), fc.double().map(String), fc.string({ maxLength: 12 })),
        (name, raw) => {
          const value = String(raw).trim();
          const [min, max] = ranges[name];
          const ok = /^\d{1,10}$/.test(value) && Number(value) >= min && Number(value) <= max;
          if (ok || value === "") {
            expect(() => parseConfig({ ...base, [name]: String(raw) })).not.toThrow();
          } else {
            expect(() => parseConfig({ ...base, [name]: String(raw) })).toThrow(
              expect.objectContaining({ setting: name }),
            );
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
