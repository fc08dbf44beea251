/**
 * Every setting of the session function (SPEC, "Configuration"), parsed once
 * from an environment record into a frozen {@link Config}.
 *
 * A missing or invalid setting throws a {@link ConfigError} naming it, so the
 * entrypoint can stop at start-up instead of failing on the first request.
 * Secret values never appear in error messages.
 */

/** An ES256 private key in JWK form, with the `kid` it is published under. */
export interface SigningJwk {
  readonly kty: "EC";
  readonly crv: "P-256";
  readonly x: string;
  readonly y: string;
  readonly d: string;
  readonly kid: string;
}

/** A `count` per `seconds` budget. */
export interface RateLimit {
  readonly count: number;
  readonly seconds: number;
}

/** The parsed, validated and frozen settings. */
export interface Config {
  readonly clerk: {
    readonly issuer: string;
    /** Key set URL; unused when `jwtKey` pins a PEM key. */
    readonly jwksUrl: string;
    readonly jwtKey: string | null;
    /** Allowed `azp` values; empty only for development instances. */
    readonly authorizedParties: readonly string[];
  };
  readonly session: {
    readonly issuer: string;
    readonly accessTtl: number;
    readonly idleTimeout: number;
    readonly absoluteLifetime: number;
    /** Absolute lifetime of a session started by impersonation (Clerk `act` claim), s. */
    readonly impersonationLifetime: number;
    readonly reuseGrace: number;
    readonly theftScope: "family" | "user";
    readonly dpop: "off" | "optional" | "required";
  };
  /** ES256 keys, newest (the signer) first; empty when only HS256 is configured. */
  readonly signingJwks: readonly SigningJwk[];
  /** Supabase's legacy HS256 JWT secret, or null. */
  readonly jwtSecret: string | null;
  /**
   * `kid` for HS256 headers (`SESSION_JWT_KID`, the id Supabase shows for the legacy
   * secret), or null: then HS256 tokens carry no `kid`, which PostgREST 13+ needs when
   * its HS256 key has none.
   */
  readonly jwtKid: string | null;
  /** Refresh-token MAC secrets, newest (the minter) first. */
  readonly refreshSecrets: readonly string[];
  readonly databaseUrl: string;
  /** CORS allowlist; `"*"` allows any origin. */
  readonly allowedOrigins: readonly string[] | "*";
  /** Null when rate limiting is `off`. */
  readonly rateLimits: { readonly start: RateLimit; readonly refresh: RateLimit } | null;
  /** Where the client's address is read from (`SESSION_CLIENT_IP`). */
  readonly clientIp: ClientIpSource;
  /** Which implementation signs ES256 access tokens (`SESSION_SIGNER`, functions/signer.ts). */
  readonly signer: "auto" | "webcrypto" | "noble";
  /** Whether postgres.js prepares statements (`SESSION_DB_PREPARE`, resolved against the URL). */
  readonly databasePrepare: boolean;
}

/**
 * Where the client's address comes from: the first valid `X-Forwarded-For`
 * entry (what the client says, unless a proxy in front rewrites the header),
 * the last one (what the nearest proxy appended), or one header that a trusted
 * proxy sets to a single address (e.g. `cf-connecting-ip`).
 */
export type ClientIpSource =
  | { readonly kind: "forwarded"; readonly pick: "first" | "last" }
  | { readonly kind: "header"; readonly name: string };

/** A bad or missing setting; `setting` names it. */
export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, problem: string) {
    super(`${setting}: ${problem}`);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** The environment as a plain record (`Deno.env.toObject()`, `process.env`). */
export type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_RATE_LIMITS = { start: { count: 20, seconds: 60 }, refresh: { count: 120, seconds: 60 } };

/**
 * Everything behind one ip gets this many times a user's (or a family's) budget: many
 * users can share an address. The handler counts the ip with `count * IP_BUDGET_FACTOR`.
 */
export const IP_BUDGET_FACTOR = 10;

/**
 * What `sessionguard.check_rate_limit` accepts (migration `*_create_refresh_guards.sql`:
 * `p_limit between 1 and 1000000`, `p_window between 1 and 86400`). A budget is parsed
 * against these so that a value the SQL would refuse on every request stops start-up
 * instead; the count is bounded so that the per-ip budget fits too.
 * tests/property/rate-limits.property.test.ts checks them against the real function.
 */
export const RATE_LIMIT_BOUNDS = Object.freeze({
  maxCount: Math.floor(1_000_000 / IP_BUDGET_FACTOR),
  maxSeconds: 86_400,
});

const MIN_SECRET_BYTES = 32;
const MAX_INT4 = 2_147_483_647;

/** Parses and validates every setting; throws {@link ConfigError} on the first bad one. */
export function parseConfig(env: Env): Config {
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === "" ? undefined : value;
  };

  const clerkIssuer = url("CLERK_ISSUER", get("CLERK_ISSUER"));
  const jwtKey = get("CLERK_JWT_KEY")?.replaceAll("\\n", "\n") ?? null;
  if (jwtKey !== null && !/^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----$/.test(jwtKey)) {
    throw new ConfigError("CLERK_JWT_KEY", "must be a PEM public key (BEGIN PUBLIC KEY)");
  }
  const jwksUrl = url("CLERK_JWKS_URL", get("CLERK_JWKS_URL") ?? `${clerkIssuer}/.well-known/jwks.json`);
  const authorizedParties = list(get("CLERK_AUTHORIZED_PARTIES"));
  for (const party of authorizedParties) origin("CLERK_AUTHORIZED_PARTIES", party);
  if (authorizedParties.length === 0 && !isDevelopmentIssuer(clerkIssuer)) {
    throw new ConfigError(
      "CLERK_AUTHORIZED_PARTIES",
      "required for a production Clerk instance (comma-separated origins of your app)",
    );
  }

  const supabaseUrl = get("SUPABASE_URL");
  const sessionIssuer = url(
    "SESSION_ISSUER",
    get("SESSION_ISSUER") ?? (supabaseUrl && `${supabaseUrl.replace(/\/+$/, "")}/functions/v1/session`),
  );

  const signingJwks = parseSigningJwks(get("SESSION_SIGNING_JWK"));
  const jwtSecret = get("SESSION_JWT_SECRET") ?? null;
  if (jwtSecret !== null && byteLength(jwtSecret) < MIN_SECRET_BYTES) {
    throw new ConfigError("SESSION_JWT_SECRET", `must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  const jwtKid = get("SESSION_JWT_KID") ?? null;
  if (jwtKid !== null && jwtSecret === null) {
    throw new ConfigError("SESSION_JWT_KID", "names the legacy secret's key id: set SESSION_JWT_SECRET too");
  }
  if (jwtKid !== null && !/^[\w.-]{1,64}$/.test(jwtKid)) {
    throw new ConfigError("SESSION_JWT_KID", 'must be 1-64 letters, digits, "_", "-" or "."');
  }
  if (signingJwks.length === 0 && jwtSecret === null) {
    throw new ConfigError(
      "SESSION_SIGNING_JWK",
      "set SESSION_SIGNING_JWK (ES256) or SESSION_JWT_SECRET (HS256)",
    );
  }

  const refreshSecrets = list(required("SESSION_REFRESH_SECRET", get("SESSION_REFRESH_SECRET")));
  if (refreshSecrets.some((secret) => byteLength(secret) < MIN_SECRET_BYTES)) {
    throw new ConfigError(
      "SESSION_REFRESH_SECRET",
      `every secret must be at least ${MIN_SECRET_BYTES} bytes`,
    );
  }
  if (new Set(refreshSecrets).size !== refreshSecrets.length) {
    throw new ConfigError("SESSION_REFRESH_SECRET", "lists the same secret twice");
  }

  const databaseUrl = required("DATABASE_URL", get("DATABASE_URL") ?? get("SUPABASE_DB_URL"));
  if (!/^postgres(ql)?:\/\/./.test(databaseUrl)) {
    throw new ConfigError("DATABASE_URL", "must be a postgres:// or postgresql:// URL");
  }

  const origins = list(get("ALLOWED_ORIGINS"));
  const allowedOrigins = origins.includes("*") ? "*" : origins.map((o) => origin("ALLOWED_ORIGINS", o));

  return deepFreeze({
    clerk: { issuer: clerkIssuer, jwksUrl, jwtKey, authorizedParties },
    session: {
      issuer: sessionIssuer,
      accessTtl: integer("SESSION_ACCESS_TTL", get("SESSION_ACCESS_TTL"), 600, 1, 86_400),
      idleTimeout: integer("SESSION_IDLE_TIMEOUT", get("SESSION_IDLE_TIMEOUT"), 604_800, 1, MAX_INT4),
      absoluteLifetime: integer(
        "SESSION_ABSOLUTE_LIFETIME",
        get("SESSION_ABSOLUTE_LIFETIME"),
        2_592_000,
        1,
        MAX_INT4,
      ),
      impersonationLifetime: integer(
        "SESSION_IMPERSONATION_LIFETIME",
        get("SESSION_IMPERSONATION_LIFETIME"),
        3_600,
        60,
        MAX_INT4,
      ),
      reuseGrace: integer("SESSION_REUSE_GRACE", get("SESSION_REUSE_GRACE"), 10, 0, 60),
      theftScope: oneOf("SESSION_THEFT_SCOPE", get("SESSION_THEFT_SCOPE"), ["family", "user"], "family"),
      dpop: oneOf("SESSION_DPOP", get("SESSION_DPOP"), ["off", "optional", "required"], "optional"),
    },
    signingJwks,
    jwtSecret,
    jwtKid,
    refreshSecrets,
    databaseUrl,
    allowedOrigins,
    rateLimits: parseRateLimits(get("SESSION_RATE_LIMITS")),
    clientIp: parseClientIp(get("SESSION_CLIENT_IP")),
    signer: oneOf("SESSION_SIGNER", get("SESSION_SIGNER"), ["auto", "webcrypto", "noble"], "auto"),
    databasePrepare: preparedStatements(
      oneOf("SESSION_DB_PREPARE", get("SESSION_DB_PREPARE"), ["auto", "on", "off"], "auto"),
      databaseUrl,
    ),
  });
}

/**
 * `SESSION_DB_PREPARE`: `on` and `off` as said; `auto` turns prepared statements
 * off behind a transaction pooler, where consecutive statements may run on
 * different server connections and Supavisor does not support them, and on for
 * a direct or session-mode connection. Supabase's ports (docs, "Connect to your
 * database", supabase.com/docs/guides/database/connecting-to-postgres):
 * direct `db.<ref>.supabase.co:5432`, shared pooler (Supavisor)
 * `*.pooler.supabase.com:5432` in session mode and `:6543` in transaction mode,
 * dedicated pooler (PgBouncer) `db.<ref>.supabase.co:6543`, transaction mode.
 * `?pgbouncer=true` (the convention Prisma reads) also means a transaction
 * pooler. A URL that cannot be read is treated as pooled: off is always safe.
 */
export function preparedStatements(setting: "auto" | "on" | "off", databaseUrl: string): boolean {
  if (setting !== "auto") return setting === "on";
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return false;
  }
  if (url.port === "6543") return false;
  if (url.searchParams.get("pgbouncer") === "true") return false;
  return true;
}

function parseClientIp(value: string | undefined): ClientIpSource {
  if (value === undefined || value === "forwarded-first") {
    return Object.freeze({ kind: "forwarded", pick: "first" });
  }
  if (value === "forwarded-last") return Object.freeze({ kind: "forwarded", pick: "last" });
  const header = /^header:([A-Za-z0-9-]{1,64})$/.exec(value);
  if (header) return Object.freeze({ kind: "header", name: header[1].toLowerCase() });
  throw new ConfigError(
    "SESSION_CLIENT_IP",
    'must be "forwarded-first", "forwarded-last" or "header:<name>" (e.g. header:cf-connecting-ip)',
  );
}

/** Clerk development instances and local issuers may omit the `azp` allowlist. */
function isDevelopmentIssuer(issuer: string): boolean {
  const { hostname } = new URL(issuer);
  return hostname.endsWith(".clerk.accounts.dev") || hostname === "localhost" ||
    hostname === "127.0.0.1" || hostname === "[::1]";
}

function required(name: string, value: string | undefined): string {
  if (value === undefined) throw new ConfigError(name, "is required");
  return value;
}

function list(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

function byteLength(value: string): number {
  return new TextEncoder().encode(value).byteLength;
}

/** An https URL (http only for loopback hosts), without a trailing slash. */
function url(name: string, value: string | undefined): string {
  let parsed: URL;
  try {
    parsed = new URL(required(name, value));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(name, "must be an absolute URL");
  }
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(parsed.hostname);
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && loopback)) {
    throw new ConfigError(name, "must be an https URL (http only for localhost)");
  }
  if (parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw new ConfigError(name, "must not carry a query, fragment or credentials");
  }
  return parsed.href.replace(/\/+$/, "");
}

function origin(name: string, value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `"${value}" is not an origin like https://app.example.com`);
  }
  if (parsed.origin === "null" || parsed.origin !== value.replace(/\/$/, "")) {
    throw new ConfigError(name, `"${value}" is not an origin like https://app.example.com`);
  }
  return parsed.origin;
}

function integer(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,10}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(name, `must be a whole number of seconds from ${min} to ${max}`);
  }
  return Number(value);
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(", ")}`);
  }
  return value as T;
}

function parseSigningJwks(value: string | undefined): SigningJwk[] {
  const name = "SESSION_SIGNING_JWK";
  if (value === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError(name, "must be a JWK or a JSON array of JWKs");
  }
  const keys = Array.isArray(parsed) ? parsed : [parsed];
  if (keys.length === 0) throw new ConfigError(name, "must hold at least one key");
  const jwks = keys.map((key: unknown, index): SigningJwk => {
    const at = keys.length > 1 ? ` (key ${index})` : "";
    if (typeof key !== "object" || key === null) throw new ConfigError(name, `is not a JWK${at}`);
    const { kty, crv, x, y, d, kid, alg } = key as Record<string, unknown>;
    if (kty !== "EC" || crv !== "P-256" || (alg !== undefined && alg !== "ES256")) {
      throw new ConfigError(name, `must be an EC P-256 (ES256) key${at}`);
    }
    if (typeof d !== "string" || typeof x !== "string" || typeof y !== "string") {
      throw new ConfigError(name, `must be a private key with x, y and d${at}`);
    }
    if (typeof kid !== "string" || !/^[\w.-]{1,64}$/.test(kid)) {
      throw new ConfigError(name, `needs a "kid" of letters, digits, "_", "-" or "."${at}`);
    }
    return { kty, crv, x, y, d, kid };
  });
  if (new Set(jwks.map((jwk) => jwk.kid)).size !== jwks.length) {
    throw new ConfigError(name, "two keys share a kid");
  }
  return jwks;
}

function parseRateLimits(value: string | undefined): Config["rateLimits"] {
  const name = "SESSION_RATE_LIMITS";
  if (value === "off") return null;
  const { maxCount, maxSeconds } = RATE_LIMIT_BOUNDS;
  const shape = `must be "off" or like "start=20/60,refresh=120/60": a count of 1 to ${maxCount} ` +
    `per 1 to ${maxSeconds} seconds`;
  const limits = { ...DEFAULT_RATE_LIMITS };
  const seen = new Set<string>();
  for (const item of list(value)) {
    const match = /^(start|refresh)=(\d{1,9})\/(\d{1,9})$/.exec(item);
    if (!match) throw new ConfigError(name, shape);
    const [, route, count, seconds] = match;
    if (!inRange(Number(count), 1, maxCount) || !inRange(Number(seconds), 1, maxSeconds)) {
      throw new ConfigError(name, `${route}: ${shape}`);
    }
    if (seen.has(route)) throw new ConfigError(name, `names ${route} twice`);
    seen.add(route);
    limits[route as "start" | "refresh"] = { count: Number(count), seconds: Number(seconds) };
  }
  return limits;
}

function inRange(value: number, min: number, max: number): boolean {
  return value >= min && value <= max;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
