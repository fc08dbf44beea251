/**
 * Sign-in without Clerk, for `npm start`'s LOCAL DEVELOPMENT ISSUER (never part of a
 * deployment). It behaves like Clerk as far as sessionguard can tell: a signed-in user
 * has an identity session id (`sess_...`) shared by the browser's tabs, and its session
 * tokens come from `GET /dev/clerk-token?user=...&sid=...`. `?user=alice` in the page URL
 * picks a demo user (the browser tests use one per test).
 *
 * Organizations, as Clerk's `setActive({ organization })` does them: the same identity
 * session, another active organization, and the next token carries it in Clerk's v2 `o`
 * claim (`&org=...&role=...`). Two demo organizations; `?orgs=<tag>` in the page URL gives
 * them ids of their own (`org_<tag>_acme`), so a test's notes are its own.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import type { IdentityState } from "@sessionguard/react";

const KEY = "example.local-identity";

interface Signed {
  userId: string;
  sessionId: string;
  /** The active organization's id, or null for none (Clerk's personal account). */
  orgId?: string | null;
}

/** A demo organization the local issuer can make active; `role` as Clerk's v2 `o.rol` (no `org:`). */
export interface DemoOrganization {
  id: string;
  name: string;
  role: "admin" | "member";
}

/** The demo user's organizations: an admin of one, a member of the other. */
export function demoOrganizations(): DemoOrganization[] {
  const tag = new URLSearchParams(location.search).get("orgs");
  const space = tag && /^[A-Za-z0-9]{1,32}$/.test(tag) ? tag : "demo";
  return [
    { id: `org_${space}_acme`, name: "Acme Inc.", role: "admin" },
    { id: `org_${space}_globex`, name: "Globex", role: "member" },
  ];
}

function read(): Signed | null {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? "null") as Signed | null;
    return value && typeof value.userId === "string" && typeof value.sessionId === "string" ? value : null;
  } catch {
    return null;
  }
}

function randomSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `sess_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export interface LocalIdentity extends IdentityState {
  signIn(): void;
  /** Makes an organization active (null: none), in every tab; the next token carries it. */
  setOrganization(orgId: string | null): void;
}

export function useLocalIdentity(): LocalIdentity {
  const [signed, setSigned] = useState<Signed | null>(read);
  // Like Clerk, a sign-in or sign-out in one tab reaches the others.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === KEY) setSigned(read());
    };
    addEventListener("storage", onStorage);
    return () => removeEventListener("storage", onStorage);
  }, []);

  const signIn = useCallback(() => {
    const user = new URLSearchParams(location.search).get("user") ?? "user_demo";
    const next = { userId: user.startsWith("user_") ? user : `user_demo_${user}`, sessionId: randomSessionId() };
    localStorage.setItem(KEY, JSON.stringify(next));
    setSigned(next);
  }, []);
  const signOut = useCallback(async () => {
    localStorage.removeItem(KEY);
    setSigned(null);
  }, []);
  const setOrganization = useCallback((orgId: string | null) => {
    const current = read();
    if (!current || !(orgId === null || demoOrganizations().some((org) => org.id === orgId))) return;
    const next = { ...current, orgId };
    localStorage.setItem(KEY, JSON.stringify(next));
    setSigned(next);
  }, []);
  const getToken = useCallback(async () => {
    const current = read();
    if (!current) return null;
    const url = new URL("/dev/clerk-token", location.origin);
    url.searchParams.set("user", current.userId);
    url.searchParams.set("sid", current.sessionId);
    const org = demoOrganizations().find((candidate) => candidate.id === current.orgId);
    if (org) {
      url.searchParams.set("org", org.id);
      url.searchParams.set("role", org.role);
    }
    const res = await fetch(url, { headers: { accept: "application/json" } });
    if (!res.ok) throw new Error(`the local development issuer answered ${res.status}`);
    const body = (await res.json()) as { token?: unknown };
    if (typeof body.token !== "string") throw new Error("the local development issuer sent no token");
    return body.token;
  }, []);

  return useMemo(() => ({
    isLoaded: true,
    isSignedIn: signed !== null,
    userId: signed?.userId ?? null,
    sessionId: signed?.sessionId ?? null,
    // As the Clerk glue passes useAuth()'s orgId: null for none, undefined when signed out.
    orgId: signed ? signed.orgId ?? null : undefined,
    getToken,
    signOut,
    signIn,
    setOrganization,
  }), [signed, getToken, signOut, signIn, setOrganization]);
}
