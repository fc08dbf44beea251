/** `useSession()`: who is signed in, until when, and how to sign out. */
import { useCallback, useSyncExternalStore } from "react";
import type { SessionInfo, SignedOutReason, SignOutScope } from "@sessionguard/client";
import { useSessionGuardContext } from "./provider.tsx";
import type { SessionStatus } from "./store.ts";

export interface UseSessionResult {
  /** `loading` until storage has been read (and always while rendering on the server). */
  status: SessionStatus;
  /** Ids and expiry of the current session, no tokens; null unless signed in. */
  session: SessionInfo | null;
  /** The Clerk user id, or null. */
  userId: string | null;
  /** The sessionguard session id (the `sid` claim), or null. */
  sessionId: string | null;
  /** Access token expiry as a Date, or null. */
  expiresAt: Date | null;
  /** Absolute end of the session as a Date, or null. */
  sessionExpiresAt: Date | null;
  /** Why the last session ended here (until the next sign-in), or null. */
  signedOutReason: SignedOutReason | null;
  /** The last session ended because a stolen refresh token was used. */
  theftDetected: boolean;
  /** `local` (default) ends this session, `others` the user's other sessions, `global` all. */
  signOut(scope?: SignOutScope): Promise<void>;
}

export function useSession(): UseSessionResult {
  const { client, store } = useSessionGuardContext("useSession");
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot);
  const signOut = useCallback((scope?: SignOutScope) => client.signOut(scope), [client]);
  const { session } = snapshot;
  return {
    status: snapshot.status,
    session,
    userId: session?.user_id ?? null,
    sessionId: session?.session_id ?? null,
    expiresAt: session ? new Date(session.expires_at * 1000) : null,
    sessionExpiresAt: session ? new Date(session.session_expires_at * 1000) : null,
    signedOutReason: snapshot.signedOutReason,
    theftDetected: snapshot.theftDetected,
    signOut,
  };
}
