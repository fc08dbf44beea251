/**
 * `@sessionguard/react/clerk`: the glue to Clerk (`@clerk/react` v6). Put
 * `<ClerkSessionSync/>` inside both `<ClerkProvider>` and `<SessionGuardProvider>`:
 * a Clerk sign-in starts one sessionguard session with Clerk's session token, a Clerk
 * sign-out signs out of sessionguard, and when sessionguard's session ends (theft,
 * revoked from another device, signed out) the user is signed out of Clerk as well.
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
  }, options);
}

/** Renders nothing; keeps sessionguard in step with Clerk (see {@link useClerkSessionSync}). */
export function ClerkSessionSync(props: SessionSyncOptions) {
  useClerkSessionSync(props);
  return null;
}
