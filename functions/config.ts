/**
 * Where settings are read: the one settings parser of both functions. Every
 * setting of the session function is read by {@link parseConfig}, here or in a
 * `config/` module it calls (split by concern), through one getter over the
 * environment, into one frozen {@link Config}; {@link parseClerkWebhookConfig}
 * reads the `clerk-webhook` function's. docs/contract.md lists every setting
 * (tests/unit/config-docs.test.ts keeps the two in step).
 *
 * A missing or invalid setting throws a {@link ConfigError} naming it, so the
 * entrypoint can stop at start-up instead of failing on the first request.
 * Secret values never appear in error messages.
 */
import {
  type ClientIpSource,
  parseClientIp,
  parseForwardingKeys,
  parseRateLimits,
  type RateLimits,
} from "./config/limits.ts";
import {
  byteLength,
  ConfigError,
  databaseUrl as parseDatabaseUrl,
  deepFreeze,
  type Env,
  integer,
  list,
  oneOf,
  settingReader,
} from "./config/read.ts";
import { preparedStatements } from "./config/database.ts";
import { type DpopSettings, parseDpopSettings } from "./config/dpop.ts";
import { parseSessionLimit, type SessionLimit } from "./config/organizations.ts";
import {
  MIN_SECRET_BYTES,
  parseRefreshSecrets,
  parseSigningJwks,
  type SigningJwk,
} from "./config/signing-keys.ts";
import { parseTheftResponseSettings, type TheftResponseSettings } from "./config/theft-response.ts";
import { baseUrl as url, isDevelopmentIssuer, origin } from "./config/url.ts";

export { ConfigError, type Env } from "./config/read.ts";
export { preparedStatements } from "./config/database.ts";
export {
  type ClientIpSource,
  IP_BUDGET_FACTOR,
  RATE_LIMIT_BOUNDS,
  type RateLimit,
  type RateLimits,
} from "./config/limits.ts";
export type { SigningJwk } from "./config/signing-keys.ts";
export type { DpopSettings, SessionLimit, TheftResponseSettings };
export { type ClerkWebhookConfig, parseClerkWebhookConfig } from "./config/clerk-webhook.ts";

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
    /** `SESSION_THEFT_SCOPE`: "family" (a documented value) ends the one session, "user" all the user's. */
    readonly theftScope: "family" | "user";
  };
  /** `SESSION_DPOP` and the settings beside it. */
  readonly dpop: DpopSettings;
  /** What else happens when a stolen refresh token is caught (Clerk, the security webhook). */
  readonly theftResponse: TheftResponseSettings;
  /** `SESSION_MAX_PER_USER` and its mode; null when off. */
  readonly sessionLimit: SessionLimit | null;
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
  readonly rateLimits: RateLimits;
  /** Where the client's address is read from (`SESSION_CLIENT_IP`). */
  readonly clientIp: ClientIpSource;
  /** Thumbprints of app servers' keys whose requests may name the browser's address (`SESSION_FORWARDING_KEYS`). */
  readonly forwardingKeys: ReadonlySet<string>;
  /** Which implementation signs ES256 access tokens (`SESSION_SIGNER`, functions/signer.ts). */
  readonly signer: "auto" | "webcrypto" | "noble";
  /** Whether postgres.js prepares statements (`SESSION_DB_PREPARE`, resolved against the URL). */
  readonly databasePrepare: boolean;
}

const MAX_INT4 = 2_147_483_647;

/** Parses and validates every setting; throws {@link ConfigError} on the first bad one. */
export function parseConfig(env: Env): Config {
  const get = settingReader(env);

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

  const refreshSecrets = parseRefreshSecrets(get("SESSION_REFRESH_SECRET"));
  const databaseUrl = parseDatabaseUrl(get);

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
    },
    dpop: parseDpopSettings(get, sessionIssuer),
    theftResponse: parseTheftResponseSettings(get),
    sessionLimit: parseSessionLimit(get),
    signingJwks,
    jwtSecret,
    jwtKid,
    refreshSecrets,
    databaseUrl,
    allowedOrigins,
    rateLimits: parseRateLimits(get("SESSION_RATE_LIMITS")),
    clientIp: parseClientIp(get("SESSION_CLIENT_IP")),
    forwardingKeys: parseForwardingKeys(get("SESSION_FORWARDING_KEYS")),
    signer: oneOf("SESSION_SIGNER", get("SESSION_SIGNER"), ["auto", "webcrypto", "noble"], "auto"),
    databasePrepare: preparedStatements(
      oneOf("SESSION_DB_PREPARE", get("SESSION_DB_PREPARE"), ["auto", "on", "off"], "off"),
      databaseUrl,
    ),
  });
}
