/**
 * The functions' settings in the local stack: local defaults made from the generated
 * keys, each overridden by the same name in the environment or `.env`.
 */
import { isLocalDatabaseUrl } from "../../dev/loopback.ts";
import { isFunctionSetting, type Settings } from "./env.ts";
import type { LocalKeys } from "./keys.ts";

export interface StackUrls {
  /** Origin of the gateway, e.g. http://127.0.0.1:54321 */
  readonly origin: string;
  readonly session: string;
  readonly jwks: string;
  readonly openidConfiguration: string;
  readonly clerkWebhook: string;
  readonly page: string;
  /** The development issuer's URLs (whether or not it is on). */
  readonly devIssuer: string;
  readonly devJwks: string;
  readonly devToken: string;
}

export function stackUrls(port: number): StackUrls {
  const origin = `http://127.0.0.1:${port}`;
  const session = `${origin}/functions/v1/session`;
  return {
    origin,
    session,
    jwks: `${session}/.well-known/jwks.json`,
    openidConfiguration: `${session}/.well-known/openid-configuration`,
    clerkWebhook: `${origin}/functions/v1/clerk-webhook`,
    page: `${origin}/`,
    devIssuer: `${origin}/dev/clerk`,
    devJwks: `${origin}/dev/clerk/.well-known/jwks.json`,
    devToken: `${origin}/dev/clerk-token`,
  };
}

export interface FunctionSettings {
  /** What the functions get (secrets included). */
  readonly env: Settings;
  /** The development issuer is on: no CLERK_ISSUER was configured. */
  readonly devIssuer: boolean;
  /** Names the user set (environment or .env) rather than the local defaults. */
  readonly overridden: readonly string[];
}

/** Defaults from `keys` and `urls`, overridden by `given` (environment over .env). */
export function functionSettings(
  given: Settings,
  keys: LocalKeys,
  urls: StackUrls,
  databaseUrl: string,
): FunctionSettings {
  const devIssuer = given.CLERK_ISSUER === undefined;
  if (devIssuer) refuseDevIssuerOutsideThisMachine(given, databaseUrl);
  const localOrigins = [urls.origin, urls.origin.replace("127.0.0.1", "localhost")].join(",");
  const defaults: Settings = {
    SESSION_ISSUER: urls.session,
    SESSION_REFRESH_SECRET: keys.session_refresh_secret,
    CLERK_WEBHOOK_SECRET: keys.clerk_webhook_secret,
    DATABASE_URL: databaseUrl,
    ALLOWED_ORIGINS: localOrigins,
  };
  // A project that chose Supabase's legacy HS256 secret gets HS256 only; so does a stack
  // on `supabase start` (SG_SUPABASE_LOCAL), whose PostgREST knows only its JWT secret.
  if (given.SG_SUPABASE_JWT_SECRET !== undefined) defaults.SESSION_JWT_SECRET = given.SG_SUPABASE_JWT_SECRET;
  else if (given.SESSION_JWT_SECRET === undefined) {
    defaults.SESSION_SIGNING_JWK = JSON.stringify(keys.session_signing_jwk);
  }
  if (devIssuer) {
    defaults.CLERK_ISSUER = urls.devIssuer;
    // The pinned PEM key: no JWKS fetch at all.
    defaults.CLERK_JWT_KEY = keys.dev_clerk.public_pem;
    defaults.CLERK_AUTHORIZED_PARTIES = localOrigins;
  }
  const overrides = Object.fromEntries(Object.entries(given).filter(([name]) => isFunctionSetting(name)));
  // The harness may have started our own server: DATABASE_URL is whatever it answered.
  const env = { ...defaults, ...overrides, DATABASE_URL: databaseUrl };
  return { env, devIssuer, overridden: Object.keys(overrides).sort() };
}

/**
 * The development issuer signs tokens for any user. Next to a database that is not on
 * this machine, or with a signing key the user brought (a real project's), those
 * tokens would be worth something: refuse to start, naming what to change.
 */
function refuseDevIssuerOutsideThisMachine(given: Settings, databaseUrl: string): void {
  const why = "the local development issuer (on because CLERK_ISSUER is not set) signs tokens for any user";
  if (!isLocalDatabaseUrl(databaseUrl)) {
    throw new Error(
      `${why}, so it runs only with a database on this machine; DATABASE_URL is not local. ` +
        "Set CLERK_ISSUER to a real Clerk instance, or use a local database.",
    );
  }
  for (const name of ["SESSION_SIGNING_JWK", "SESSION_JWT_SECRET"]) {
    if (given[name] !== undefined) {
      throw new Error(
        `${why}, so it runs only with the keys npm start generates; ${name} is set. ` +
          `Set CLERK_ISSUER to a real Clerk instance, or unset ${name}.`,
      );
    }
  }
}
