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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EVENTS_LIMIT = 50;
const SIGNOUT_SCOPES = ["local", "others", "global"] as const;

/** The account sub-app. */
export function accountRoutes(deps: RouteDeps): Hono<Authenticated> {
  const { store } = deps;
  const authenticated = authenticate(deps);
  const app = new Hono<Authenticated>();

  app.post("/signout", authenticated, async (c) => {
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

  app.get("/sessions", authenticated, async (c) => {
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

  app.delete("/sessions/:id", authenticated, async (c) => {
    const { claims, at } = c.var;
    const id = c.req.param("id");
    // Malformed and foreign ids answer alike, so ids cannot be probed.
    if (!UUID.test(id) || !(await store.revokeSession(claims.sub, id, "session_revoked", at))) {
      throw new ApiError("not_found");
    }
    return c.body(null, 204);
  });

  app.get("/events", authenticated, async (c) => {
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

  methodNotAllowed(app, "/signout", "POST");
  methodNotAllowed(app, "/sessions", "GET, HEAD");
  methodNotAllowed(app, "/sessions/:id", "DELETE");
  methodNotAllowed(app, "/events", "GET, HEAD");
  return app;
}
