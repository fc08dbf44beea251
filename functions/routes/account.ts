/**
 * The account routes, each behind the authentication middleware: `POST
 * /signout` (this session, the others, or all), `GET /sessions` (the user's
 * live sessions, the caller's marked `current`), `DELETE /sessions/:id` and
 * `GET /events` (the user's security log, newest first).
 */
import { Hono } from "hono";
import { ApiError } from "../errors.ts";
import { authenticate, type Authenticated } from "./authenticate.ts";
import { NO_STORE, type RouteDeps, unix } from "./deps.ts";
import { methodNotAllowed } from "./method-not-allowed.ts";
import { isUuid } from "../formats.ts";

const EVENTS_LIMIT = 50;
const SIGNOUT_SCOPES = ["local", "others", "global"] as const;

/** The account sub-apps, each mounted at its own prefix, behind one authentication middleware. */
export function accountRoutes(deps: RouteDeps): {
  signout: Hono<Authenticated>;
  sessions: Hono<Authenticated>;
  events: Hono<Authenticated>;
} {
  const { store } = deps;
  const authenticated = authenticate(deps);
  const signout = new Hono<Authenticated>();
  const sessions = new Hono<Authenticated>();
  const events = new Hono<Authenticated>();

  signout.post("/", authenticated, async (c) => {
    const { claims, at, body } = c.var;
    // Absent means "local"; anything present must be one of the three names (null included).
    const scope = body?.scope === undefined ? "local" : body.scope;
    if (!SIGNOUT_SCOPES.includes(scope as typeof SIGNOUT_SCOPES[number])) {
      throw new ApiError("invalid_request", {
        description: '"scope" must be "local", "others" or "global".',
      });
    }
    if (scope === "local") await store.revokeSession(claims.sub, claims.sid, "signed_out", at);
    else if (scope === "others") await store.revokeOtherSessions(claims.sub, claims.sid, at);
    else await store.revokeUserSessions(claims.sub, "signed_out", at);
    return c.body(null, 204);
  });

  sessions.get("/", authenticated, async (c) => {
    const { claims, at } = c.var;
    const rows = await store.listSessions(claims.sub, at);
    const sessions = rows.map((row) => ({
      id: row.id,
      device_name: row.deviceName,
      user_agent: row.userAgent,
      ip: row.ip,
      created_at: unix(row.createdAt),
      last_active_at: unix(row.lastActiveAt),
      expires_at: unix(row.expiresAt),
      current: row.id === claims.sid,
    }));
    return c.json({ sessions }, 200, NO_STORE);
  });

  sessions.delete("/:id", authenticated, async (c) => {
    const { claims, at } = c.var;
    const id = c.req.param("id");
    // Malformed and foreign ids answer alike, so ids cannot be probed.
    if (!isUuid(id) || !(await store.revokeSession(claims.sub, id, "session_revoked", at))) {
      throw new ApiError("not_found");
    }
    return c.body(null, 204);
  });

  events.get("/", authenticated, async (c) => {
    const rows = await store.listEvents(c.var.claims.sub, EVENTS_LIMIT);
    const events = rows.map((row) => ({
      id: row.id,
      type: row.type,
      session_id: row.sessionId,
      created_at: unix(row.createdAt),
      ip: row.ip,
      user_agent: row.userAgent,
      description: row.description,
    }));
    return c.json({ events }, 200, NO_STORE);
  });

  methodNotAllowed(signout, "/", "POST");
  methodNotAllowed(sessions, "/", "GET, HEAD");
  methodNotAllowed(sessions, "/:id", "DELETE");
  methodNotAllowed(events, "/", "GET, HEAD");
  return { signout, sessions, events };
}
