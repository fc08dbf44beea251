"use client";
/**
 * Client components share the server-held session through this provider
 * (`@sessionguard/nextjs/client`). The layout (a Server Component) passes what the
 * proxy already knows; the provider never sees the refresh token. Signing out or
 * revoking goes through the Route Handler (`createSessionGuardRoute`), and every tab
 * hears of it (BroadcastChannel) and re-renders from the server.
 *
 *   <SessionGuardProvider session={session && publicSession(session)} reason={reason} onSignedOut={...}>
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { useRouter } from "next/navigation";
import type { PublicSession } from "./route.ts";

export interface SessionGuardContextValue {
  readonly session: PublicSession | null;
  /** Why the last session ended (`refresh_token_reused`, `session_revoked`, …), or null. */
  readonly reason: string | null;
  signOut(scope?: "local" | "others" | "global"): Promise<void>;
  revoke(sessionId: string): Promise<void>;
  /** Refreshes when due and answers the session (with the access token only if the route exposes it). */
  refresh(): Promise<PublicSession | null>;
}

const Context = createContext<SessionGuardContextValue | null>(null);
const CHANNEL = "sessionguard";

export interface SessionGuardProviderProps {
  readonly session: PublicSession | null;
  readonly reason?: string | null;
  /** The Route Handler's path (default `/api/sessionguard`). */
  readonly endpoint?: string;
  /**
   * Called once when the session ended for a reason (theft, revocation, expiry), e.g.
   * Clerk's `signOut()`, so the identity session does not outlive it.
   */
  readonly onSignedOut?: (reason: string) => void;
  readonly children: ReactNode;
}

export function SessionGuardProvider(props: SessionGuardProviderProps) {
  const { endpoint = "/api/sessionguard", onSignedOut } = props;
  const router = useRouter();
  const [session, setSession] = useState(props.session);
  const reported = useRef<string | null>(null);
  useEffect(() => setSession(props.session), [props.session]);

  useEffect(() => {
    if (!props.reason || reported.current === props.reason) return;
    reported.current = props.reason;
    onSignedOut?.(props.reason);
  }, [props.reason, onSignedOut]);

  useEffect(() => {
    if (typeof BroadcastChannel === "undefined") return;
    const channel = new BroadcastChannel(CHANNEL);
    channel.onmessage = () => router.refresh();
    return () => channel.close();
  }, [router]);

  const post = useCallback(async (body: Record<string, unknown>) => {
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const json = await res.json().catch(() => ({})) as { session?: PublicSession | null; error?: string };
    if (!res.ok) throw new Error(json.error ?? `HTTP ${res.status}`);
    return json;
  }, [endpoint]);

  const changed = useCallback(() => {
    if (typeof BroadcastChannel !== "undefined") {
      const channel = new BroadcastChannel(CHANNEL);
      channel.postMessage("changed");
      channel.close();
    }
    router.refresh();
  }, [router]);

  const value = useMemo<SessionGuardContextValue>(() => ({
    session,
    reason: props.reason ?? null,
    async signOut(scope = "local") {
      const json = await post({ action: "signout", scope });
      setSession(json.session ?? null);
      changed();
    },
    async revoke(sessionId) {
      await post({ action: "revoke", session_id: sessionId });
      changed();
    },
    async refresh() {
      const json = await post({ action: "session" });
      setSession(json.session ?? null);
      if (!json.session) changed();
      return json.session ?? null;
    },
  }), [session, props.reason, post, changed]);

  return <Context.Provider value={value}>{props.children}</Context.Provider>;
}

/** The shared session in a client component (inside {@link SessionGuardProvider}). */
export function useSessionGuard(): SessionGuardContextValue {
  const value = useContext(Context);
  if (!value) throw new Error("sessionguard: useSessionGuard() needs a <SessionGuardProvider> above it");
  return value;
}
