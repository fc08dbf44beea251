/**
 * Sign-in without Clerk, for `npm start`'s LOCAL DEVELOPMENT ISSUER (never part of a
 * deployment). It behaves like Clerk as far as sessionguard can tell: a signed-in user
 * has an identity session id (`sess_...`) shared by the browser's tabs, and its session
 * tokens come from `GET /dev/clerk-token?user=...&sid=...`. `?user=alice` in the page URL
 * picks a demo user (the browser tests use one per test).
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import type { IdentityState } from "@sessionguard/react";

const KEY = "example.local-identity";

interface Signed {
  userId: string;
  sessionId: string;
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
  const getToken = useCallback(async () => {
    const current = read();
    if (!current) return null;
    const url = new URL("/dev/clerk-token", location.origin);
    url.searchParams.set("user", current.userId);
    url.searchParams.set("sid", current.sessionId);
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
    getToken,
    signOut,
    signIn,
  }), [signed, getToken, signOut, signIn]);
}
