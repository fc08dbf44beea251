/**
 * `@sessionguard/react/clerk`: the glue to Clerk (`@clerk/react` v6). Put
 * `<ClerkSessionSync/>` inside both `<ClerkProvider>` and `<SessionGuardProvider>`:
 * a Clerk sign-in starts one sessionguard session with Clerk's session token, a Clerk
 * sign-out signs out of sessionguard, and when sessionguard's session ends (theft,
 * revoked from another device, signed out) the user is signed out of Clerk as well.
 * Switching the active organization, or passing Clerk's reverification, updates the
 * session's organization and verification time (POST /claims) without a new sign-in.
 */
import { useAuth } from "@clerk/react";
import { type SessionSyncOptions, type SessionSyncState, useSessionSync } from "./session-sync.ts";

/** {@link useSessionSync} driven by Clerk's `useAuth()`. */
export function useClerkSessionSync(options?: SessionSyncOptions): SessionSyncState {
  const auth = useAuth();
  return useSessionSync({
    isLoaded: auth.isLoaded,
    isSignedIn: auth.isSignedIn,
    userId: auth.userId,
    sessionId: auth.sessionId,
    getToken: () => auth.getToken(),
    signOut: () => auth.signOut(),
    orgId: auth.isSignedIn ? auth.orgId ?? null : undefined,
    verifiedAt: verifiedAt(auth.sessionClaims),
  }, options);
}

/** Renders nothing; keeps sessionguard in step with Clerk (see {@link useClerkSessionSync}). */
export function ClerkSessionSync(props: SessionSyncOptions) {
  useClerkSessionSync(props);
  return null;
}

/**
 * When a factor was last verified (s), from a Clerk session token's claims: `fva` is
 * `[first, second]` factor ages in minutes, -1 for never (clerk/clerk-docs
 * `docs/guides/sessions/session-tokens.mdx`).
 */
function verifiedAt(claims: { iat?: number; fva?: unknown } | null | undefined): number | null | undefined {
  const fva = claims?.fva;
  if (!claims || typeof claims.iat !== "number" || !Array.isArray(fva)) return undefined;
  const ages = fva.filter((age): age is number => typeof age === "number" && age >= 0);
  return ages.length === 0 ? null : claims.iat - Math.min(...ages) * 60;
}
