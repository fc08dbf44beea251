/**
 * For Server Components, Route Handlers and Server Actions (`@sessionguard/nextjs/server`).
 *
 * A Server Component render only reads: the proxy has already refreshed the cookie for
 * this request. Writing cookies (sign-out, revoke of this device) happens in Server
 * Actions through {@link sessionGuardAction}, which also checks the request's origin.
 */
import type { CookieSession, SessionGuard } from "@sessionguard/server";
import { cookies, headers } from "next/headers";
import { parseSetCookie } from "./set-cookie.ts";

/**
 * The request being rendered, rebuilt from `headers()` (a render has no Request object).
 * Its cookies come from `cookies()`, not the `Cookie` header: after a Server Action set or
 * deleted cookies, the re-render in the same response sees the store, not the header.
 */
export async function currentRequest(method = "GET"): Promise<Request> {
  const [h, store] = await Promise.all([headers(), cookies()]);
  const host = h.get("x-forwarded-host") ?? h.get("host") ?? "localhost";
  const proto = h.get("x-forwarded-proto") ?? (/^(localhost|127\.|\[::1\])/.test(host) ? "http" : "https");
  const copy = new Headers(h);
  copy.set("cookie", store.getAll().map((c) => `${c.name}=${c.value}`).join("; "));
  return new Request(`${proto}://${host}/`, { method, headers: copy });
}

/** The session this request carries (already refreshed by the proxy), or null. Reads only. */
export async function getSession(guard: SessionGuard | Promise<SessionGuard>): Promise<CookieSession | null> {
  return (await guard).read(await currentRequest());
}

/** Why this browser's last session ended (`refresh_token_reused`, `session_revoked`, …), or null. */
export async function getSignedOutReason(guard: SessionGuard | Promise<SessionGuard>): Promise<string | null> {
  return (await guard).reason(await currentRequest());
}

/** The double-submit token to put in a form's `csrf_token` field (the proxy set its cookie). */
export async function getCsrfToken(guard: SessionGuard | Promise<SessionGuard>): Promise<string> {
  return (await guard).csrfToken(await currentRequest()).token;
}

/**
 * Runs `action` inside a Server Action with the session, after the CSRF check, and
 * writes the cookies it returns with `cookies().set` (allowed in Server Actions).
 * Next.js itself compares a Server Action's Origin with its Host; this check adds
 * Fetch Metadata and the token fallback, and applies to Route Handlers alike.
 */
export async function sessionGuardAction<T>(
  guard: SessionGuard | Promise<SessionGuard>,
  formToken: string | null,
  action: (g: SessionGuard, request: Request) => Promise<{ result: T; setCookies?: string[] }>,
): Promise<T> {
  const g = await guard;
  const request = await currentRequest("POST");
  g.assertSameOrigin(request, formToken);
  const { result, setCookies = [] } = await action(g, request);
  await applySetCookies(setCookies);
  return result;
}

/** Writes `Set-Cookie` values produced by the guard through Next.js's cookie store. */
export async function applySetCookies(setCookies: readonly string[]): Promise<void> {
  const store = await cookies();
  for (const setCookie of setCookies) {
    const { name, value, options } = parseSetCookie(setCookie);
    store.set(name, value, options);
  }
}

/**
 * A supabase-js client that reads as the session's user (RLS sees its claims), for
 * Server Components, Route Handlers and Server Actions. It carries the access token the
 * proxy refreshed for this request; it never refreshes (a render cannot store a rotated
 * cookie, and a rotation that is not stored would spend the browser's token).
 * Returns null when the request has no session.
 */
export async function createServerSupabase(
  guard: SessionGuard | Promise<SessionGuard>,
  supabase: { url: string; anonKey: string },
) {
  const session = await getSession(guard);
  if (!session) return null;
  const { createClient } = await import("@supabase/supabase-js");
  return createClient(supabase.url, supabase.anonKey, {
    // With accessToken set, supabase-js turns its own auth off: sessionguard is the auth.
    accessToken: async () => session.accessToken,
    global: { fetch: (input, init) => fetch(input, { ...init, cache: "no-store" }) },
  });
}
