/**
 * A server-held sessionguard session: what an app server (Next.js, Remix, Hono, a Deno
 * or Bun server, an edge function) calls per request. Web-standard `Request` in, the
 * session and the `Set-Cookie` values to send out; the caller decides where cookies may
 * be written (Next.js: middleware, Route Handlers and Server Actions only).
 *
 *   const guard = await createSessionGuard({ sessionUrl, serverKey: process.env.SESSIONGUARD_SERVER_KEY });
 *   const { session, setCookies } = await guard.refreshIfDue(request);
 */
import {
  type CookieMode,
  cookieName,
  type CookieSession,
  decodeSession,
  encodeSession,
  parseCookieHeader,
  serializeCookie,
} from "./cookie.ts";
import { assertSameOrigin } from "./csrf.ts";
import { randomToken } from "./encoding.ts";
import { SessionGuardError } from "./errors.ts";
import { refreshFlights } from "./single-flight.ts";
import { importServerKey, type ServerKey } from "./server-key.ts";
import {
  type ClientFacts,
  type DeviceSession,
  type SecurityEvent,
  sessionApi,
  type SessionApi,
  type TokenResponse,
} from "./session-api.ts";

export interface SessionGuardOptions {
  /** The session function, e.g. `https://<ref>.supabase.co/functions/v1/session`. */
  readonly sessionUrl: string;
  /**
   * The server's DPoP key (a private P-256 JWK, or its JSON): families started here are
   * bound to it. The same key on every instance. Omit to start unbound families.
   */
  readonly serverKey?: JsonWebKey | string | null;
  /** `"auto"` (default): `__Host-` and `Secure` when the request is https. */
  readonly secure?: boolean | "auto";
  /** Cookie base name (default `sessionguard`). */
  readonly cookieName?: string;
  /** Refresh when the access token expires within this many seconds (default 60). */
  readonly refreshMargin?: number;
  /** How long a finished refresh answers requests still carrying its spent token, ms (default 10 000). */
  readonly retainMs?: number;
  /** Origins besides the request's own whose state-changing requests pass the CSRF check. */
  readonly allowedOrigins?: readonly string[];
  /**
   * The browser's address for a request to the app, sent to the session function with
   * `/start` and `/refresh` so that the device list, the security events and the
   * per-address budgets use it. The function trusts it only from a server key listed in
   * its `SESSION_FORWARDING_KEYS`. Default {@link forwardedClientAddress}: the first
   * `X-Forwarded-For` entry, which is the browser's only where your proxy (Vercel,
   * Cloudflare, a load balancer) sets the header itself; behind a proxy that appends to
   * what the browser sent, read the address your proxy vouches for instead.
   */
  readonly clientAddress?: (request: Request) => string | null | undefined;
  readonly fetch?: typeof fetch;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

/** The session a request carries after the guard looked at it. */
export interface SessionState {
  /** The live session, or null when signed out. */
  readonly session: CookieSession | null;
  /** `Set-Cookie` values to send (rotated tokens, a cleared cookie, the reason of an ending). */
  readonly setCookies: string[];
  /** Why the session just ended (an error code of the session function), or null. */
  readonly reason: string | null;
}

export interface SessionGuard {
  /** The cookie's session, as it is (no network, no cookie written). */
  read(request: Request): CookieSession | null;
  /** Why the last session of this browser ended, from the short-lived reason cookie, or null. */
  reason(request: Request): string | null;
  /**
   * Refreshes when the access token is due (or always, with `force`); clears the cookie
   * when the session is dead. Call it only where the returned cookies can be written.
   */
  refreshIfDue(request: Request, options?: { force?: boolean }): Promise<SessionState>;
  /** Starts a session from a Clerk session token (`auth().getToken()`). */
  start(request: Request, clerkToken: string, options?: { deviceName?: string }): Promise<SessionState>;
  /** Ends the session at the function (scope `local` by default) and clears the cookie. */
  signOut(request: Request, scope?: "local" | "others" | "global"): Promise<SessionState>;
  /** `Set-Cookie` values that forget the session here, without a call; with a reason for the page to show, or none (clears an older one). */
  clear(request: Request, reason?: string | null): string[];
  devices(session: CookieSession): Promise<DeviceSession[]>;
  revoke(session: CookieSession, sessionId: string): Promise<void>;
  events(session: CookieSession): Promise<SecurityEvent[]>;
  /** Throws `csrf_rejected` (status 403) unless the request is safe or from the app's own pages. */
  assertSameOrigin(request: Request, formToken?: string | null): void;
  /** The double-submit token for forms, and the cookie to set when the browser has none yet. */
  csrfToken(request: Request): { token: string; setCookie: string | null };
  /** Thumbprint of the server key families are bound to, or null. */
  readonly boundKey: string | null;
  /** Refreshes this process has sent to the session function. */
  readonly refreshesSent: number;
}

/** The first entry of the request's `X-Forwarded-For`, or its `X-Real-IP`, or null. */
export function forwardedClientAddress(request: Request): string | null {
  const first = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  return first || request.headers.get("x-real-ip")?.trim() || null;
}

const LOOPBACK = /^(localhost|.*\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;
const REASON_SECONDS = 120;

/** Builds the guard once per process (module scope), so its refresh flights are shared. */
export async function createSessionGuard(options: SessionGuardOptions): Promise<SessionGuard> {
  const key: ServerKey | null = options.serverKey ? await importServerKey(options.serverKey) : null;
  const api: SessionApi = sessionApi(options.sessionUrl, key, options.fetch);
  const now = options.now ?? Date.now;
  const margin = options.refreshMargin ?? 60;
  const flights = refreshFlights(options.retainMs ?? 10_000, now);
  const base = options.cookieName ?? "sessionguard";
  const allowedOrigins = options.allowedOrigins ?? [];
  const seconds = () => Math.floor(now() / 1000);

  function mode(request: Request): CookieMode {
    const url = new URL(request.url);
    const https = url.protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";
    const secure = options.secure === undefined || options.secure === "auto" ? https : options.secure;
    if (!secure && options.secure !== false && !LOOPBACK.test(url.hostname)) {
      // A cookie without Secure would travel in clear text: only loopback development may do that.
      throw new TypeError(`sessionguard: refusing a session cookie without Secure on http://${url.host}; serve https`);
    }
    return { secure, name: base };
  }
  const cookies = (request: Request) => parseCookieHeader(request.headers.get("cookie"));
  const read = (request: Request) => decodeSession(cookies(request).get(cookieName(mode(request))));
  const address = options.clientAddress ?? forwardedClientAddress;
  const facts = (request: Request): ClientFacts => ({
    userAgent: request.headers.get("user-agent"),
    forwardedFor: request.headers.get("x-forwarded-for"),
    address: address(request),
  });

  function clear(request: Request, reason: string | null = null): string[] {
    const m = mode(request);
    // A reason is kept a while for the page to show; an ending without one clears an older one.
    return [
      serializeCookie(cookieName(m), "", m, 0),
      serializeCookie(cookieName(m, "-reason"), reason ?? "", m, reason ? REASON_SECONDS : 0),
    ];
  }

  function issued(request: Request, tokens: TokenResponse): SessionState {
    const m = mode(request);
    const session: CookieSession = {
      refreshToken: tokens.refresh_token,
      accessToken: tokens.access_token,
      tokenType: tokens.token_type,
      expiresAt: tokens.expires_at,
      sessionId: tokens.session.id,
      sessionExpiresAt: tokens.session.expires_at,
      userId: tokens.user_id,
    };
    const setCookies = [serializeCookie(cookieName(m), encodeSession(session), m, session.sessionExpiresAt - seconds())];
    if (cookies(request).has(cookieName(m, "-reason"))) setCookies.push(serializeCookie(cookieName(m, "-reason"), "", m, 0));
    return { session, setCookies, reason: null };
  }

  /** A dead session ends here; a passing failure keeps the cookie and, while it is valid, the access token. */
  function failed(request: Request, session: CookieSession, err: unknown): SessionState {
    if (SessionGuardError.is(err) && err.terminal) {
      return { session: null, setCookies: clear(request, err.code), reason: err.code };
    }
    return { session: session.expiresAt > seconds() ? session : null, setCookies: [], reason: null };
  }

  const access = (session: CookieSession) => ({ token: session.accessToken, type: session.tokenType });

  async function refreshIfDue(request: Request, refreshOptions: { force?: boolean } = {}): Promise<SessionState> {
    const session = read(request);
    if (!session) return { session: null, setCookies: [], reason: null };
    if (!refreshOptions.force && session.expiresAt - seconds() > margin) return { session, setCookies: [], reason: null };
    try {
      const tokens = await flights.run(
        session.sessionId,
        session.refreshToken,
        () => api.refresh(session.refreshToken, facts(request)),
      );
      return issued(request, tokens);
    } catch (err) {
      return failed(request, session, err);
    }
  }

  return {
    read,
    reason: (request) => cookies(request).get(cookieName(mode(request), "-reason")) || null,
    refreshIfDue,
    async start(request, clerkToken, startOptions = {}) {
      return issued(request, await api.start(clerkToken, startOptions.deviceName, facts(request)));
    },
    async signOut(request, scope = "local") {
      const state = await refreshIfDue(request);
      if (state.session) await api.signOut(access(state.session), scope).catch(() => {});
      // With scope "others" this browser stays signed in, with whatever the refresh rotated.
      if (scope === "others" && state.session) return state;
      return { session: null, setCookies: clear(request), reason: null };
    },
    clear,
    devices: (session) => api.sessions(access(session)),
    revoke: (session, id) => api.revoke(access(session), id),
    events: (session) => api.events(access(session)),
    assertSameOrigin(request, formToken) {
      const cookieToken = cookies(request).get(cookieName(mode(request), "-csrf"));
      assertSameOrigin(request, { allowedOrigins, cookieToken, requestToken: formToken });
    },
    csrfToken(request) {
      const m = mode(request);
      const existing = cookies(request).get(cookieName(m, "-csrf"));
      if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return { token: existing, setCookie: null };
      const token = randomToken();
      return { token, setCookie: serializeCookie(cookieName(m, "-csrf"), token, m, 60 * 60 * 24 * 365) };
    },
    boundKey: key?.jkt ?? null,
    get refreshesSent() {
      return flights.sent;
    },
  };
}
