/**
 * The Route Handler behind the client provider (`app/api/sessionguard/route.ts`):
 *
 *   export const { POST } = createSessionGuardRoute(guard);
 *
 * `POST` with JSON `{"action": ...}` (from the provider) or a plain HTML form (`action`
 * and `csrf_token` fields; answered with a 303 back to the page, so it works without
 * JavaScript). Every action passes the CSRF check first. Actions:
 * - `session`: refreshes when due; answers the session's public facts (never the
 *   refresh token; the access token only with `exposeAccessToken`);
 * - `signout`: `scope` `local` (default), `others` or `global`;
 * - `revoke`: ends the device `session_id` of the same user.
 */
import { type CookieSession, type SessionGuard, SessionGuardError } from "@sessionguard/server";

export interface SessionGuardRouteOptions {
  /**
   * Give the page the access token (`session` action), for client components that call
   * Supabase directly. Off by default: the token then never reaches page scripts, and
   * client components read through Server Actions or Route Handlers instead.
   */
  readonly exposeAccessToken?: boolean;
}

/** What the `session` action answers about the session. */
export interface PublicSession {
  readonly user_id: string;
  readonly session_id: string;
  /** Access token expiry, Unix seconds. */
  readonly expires_at: number;
  readonly access_token?: string;
}

/** The session's facts a page may know. */
export function publicSession(session: CookieSession, withToken = false): PublicSession {
  return {
    user_id: session.userId,
    session_id: session.sessionId,
    expires_at: session.expiresAt,
    ...(withToken ? { access_token: session.accessToken } : {}),
  };
}

export function createSessionGuardRoute(
  guard: SessionGuard | Promise<SessionGuard>,
  options: SessionGuardRouteOptions = {},
) {
  async function POST(request: Request): Promise<Response> {
    const g = await guard;
    const isForm = (request.headers.get("content-type") ?? "").startsWith("application/x-www-form-urlencoded");
    let input: Record<string, unknown>;
    try {
      input = isForm
        ? Object.fromEntries(new URLSearchParams(await request.text()))
        : await request.json() as Record<string, unknown>;
      if (typeof input !== "object" || input === null) throw new TypeError("not an object");
    } catch {
      return Response.json({ error: "invalid_request" }, { status: 400 });
    }
    try {
      g.assertSameOrigin(request, typeof input.csrf_token === "string" ? input.csrf_token : null);
    } catch (err) {
      return Response.json({ error: (err as SessionGuardError).code }, { status: 403 });
    }
    const setCookies: string[] = [];
    let body: unknown = null;
    let status = 200;
    try {
      switch (input.action) {
        case "session": {
          const state = await g.refreshIfDue(request);
          setCookies.push(...state.setCookies);
          body = {
            session: state.session ? publicSession(state.session, options.exposeAccessToken) : null,
            reason: state.reason,
          };
          break;
        }
        case "signout": {
          const scope = input.scope === "others" || input.scope === "global" ? input.scope : "local";
          const state = await g.signOut(request, scope);
          setCookies.push(...state.setCookies);
          body = { session: state.session ? publicSession(state.session) : null };
          break;
        }
        case "revoke": {
          const state = await g.refreshIfDue(request);
          setCookies.push(...state.setCookies);
          if (!state.session || typeof input.session_id !== "string") {
            status = state.session ? 400 : 401;
            body = { error: state.session ? "invalid_request" : "not_signed_in" };
            break;
          }
          await g.revoke(state.session, input.session_id);
          body = { revoked: input.session_id };
          break;
        }
        default:
          status = 400;
          body = { error: "invalid_request" };
      }
    } catch (err) {
      status = SessionGuardError.is(err) ? (err.status ?? 502) : 500;
      body = { error: SessionGuardError.is(err) ? err.code : "server_error" };
    }
    const response = isForm && status < 400
      ? new Response(null, { status: 303, headers: { location: new URL(request.headers.get("referer") ?? "/", request.url).pathname } })
      : Response.json(body, { status, headers: { "cache-control": "no-store" } });
    for (const value of setCookies) response.headers.append("set-cookie", value);
    return response;
  }
  return { POST };
}
