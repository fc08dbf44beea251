/**
 * The proxy (Next.js 16's name for middleware): where the session cookie is kept fresh.
 * Next.js lets a proxy, a Route Handler or a Server Action write cookies, never a Server
 * Component render; so every rotation happens here, before the render, and the render
 * only reads. Per request, in order:
 *
 * 1. the identity signed out (Clerk's sign-out) while a session cookie remains: the
 *    session is ended at the function and the cookie cleared;
 * 2. the identity signed in as someone else than the cookie's user: that session is
 *    ended, then (3) applies;
 * 3. the identity signed in and no session: one is started from its token
 *    (`auth().getToken()`), unless this browser's last session just ended for a reason
 *    the user must see (theft, revocation): then the user signs in again explicitly;
 * 4. otherwise the access token is refreshed when it expires within the margin; a dead
 *    session (revoked, reused, expired) clears the cookie and leaves a short-lived
 *    reason cookie the page reads.
 *
 * The rotated cookie is set on the response and also put in the request the render
 * sees, so the same request's Server Components already use the new access token.
 */
import type { SessionGuard, SessionState } from "@sessionguard/server";
import { NextResponse } from "next/server";
import type { Identity } from "./identity.ts";
import { parseSetCookie } from "./set-cookie.ts";

export interface SessionGuardProxyOptions {
  /** The guard, built once at module scope (its refresh single-flight is per process). */
  readonly guard: SessionGuard | Promise<SessionGuard>;
  /** Name shown in the device list for a session started here (default: from the user agent). */
  readonly deviceName?: (request: Request) => string | undefined;
}

/** What the proxy did, with the response to return (or to decorate further). */
export interface ProxyResult {
  readonly response: NextResponse;
  readonly state: SessionState;
  /** True when this request started the session. */
  readonly started: boolean;
}

/** Builds the proxy step; call it from `proxy.ts` (inside `clerkMiddleware` when using Clerk). */
export function createSessionGuardProxy(options: SessionGuardProxyOptions) {
  return async function sessionGuardProxy(request: Request, identity?: Identity): Promise<ProxyResult> {
    const guard = await options.guard;
    let state: SessionState = await guard.refreshIfDue(request);
    const setCookies = [...state.setCookies];
    let started = false;
    if (identity) {
      const held = state.session;
      if (held && held.userId !== identity.userId) {
        // Signed out of the identity, or switched accounts: this session must not outlive it.
        const ended = await guard.signOut(withCookies(request, setCookies));
        setCookies.push(...ended.setCookies);
        state = { session: null, setCookies: [], reason: null };
      }
      const pendingReason = state.reason ?? guard.reason(request);
      if (identity.userId && !state.session && !pendingReason) {
        const token = await identity.getToken();
        if (token) {
          const fresh = await guard.start(request, token, { deviceName: options.deviceName?.(request) });
          setCookies.push(...fresh.setCookies);
          state = fresh;
          started = true;
        }
      }
    }
    const csrf = guard.csrfToken(request);
    if (csrf.setCookie) setCookies.push(csrf.setCookie);
    const response = NextResponse.next({ request: { headers: withCookies(request, setCookies).headers } });
    for (const value of setCookies) {
      const { name, value: content, options: attributes } = parseSetCookie(value);
      response.cookies.set(name, content, attributes);
    }
    return { response, state: { ...state, setCookies }, started };
  };
}

/** `request` as the render should see it: its cookies with `setCookies` applied in order. */
export function withCookies(request: Request, setCookies: readonly string[]): Request {
  const jar = new Map<string, string>();
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at > 0) jar.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  for (const setCookie of setCookies) {
    const [pair, ...attributes] = setCookie.split("; ");
    const at = pair!.indexOf("=");
    const name = pair!.slice(0, at);
    if (attributes.includes("Max-Age=0")) jar.delete(name);
    else jar.set(name, pair!.slice(at + 1));
  }
  const headers = new Headers(request.headers);
  headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
  return new Request(request.url, { method: request.method, headers });
}
