/**
 * Several instances of the real session function (Deno, the real entrypoint)
 * sharing one database and one set of secrets, as Supabase runs many isolates
 * of one function, plus the Clerk-like issuer they trust.
 */
import { type ClerkIssuer, startClerkIssuer } from "../lib/clerk-issuer.ts";
import { refreshSecret, signingJwk } from "../lib/throwaway-keys.ts";
import { type SessionServer, startSessionServer } from "../lib/session-server.ts";

/** The app origin Clerk tokens name in `azp`. */
export const APP_ORIGIN = "http://localhost:3000";

/** Secrets and settings every instance shares. */
export interface SharedSettings {
  readonly clerk: ClerkIssuer;
  readonly settings: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Starts the issuer and generates the shared settings. Rate limits are off:
 * the load comes from one machine, and rate limiting is tested on its own.
 */
export async function sharedSettings(databaseUrl: string): Promise<SharedSettings> {
  const clerk = await startClerkIssuer(APP_ORIGIN);
  return {
    clerk,
    settings: {
      CLERK_ISSUER: clerk.issuer,
      CLERK_AUTHORIZED_PARTIES: APP_ORIGIN,
      SESSION_ISSUER: "http://localhost:54321/functions/v1/session",
      SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
      SESSION_REFRESH_SECRET: refreshSecret(),
      SESSION_RATE_LIMITS: "off",
      DATABASE_URL: databaseUrl,
    },
    stop: () => clerk.stop(),
  };
}

/** Starts one instance per entry of `overrides`, in parallel. */
export async function startInstances(
  shared: SharedSettings,
  overrides: readonly Record<string, string>[],
): Promise<SessionServer[]> {
  const started = await Promise.allSettled(
    overrides.map((override) => startSessionServer({ ...shared.settings, ...override })),
  );
  const servers = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failure = started.find((result) => result.status === "rejected");
  if (failure) {
    await Promise.allSettled(servers.map((server) => server.stop()));
    throw (failure as PromiseRejectedResult).reason;
  }
  return servers;
}
