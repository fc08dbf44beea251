/**
 * `GET /api/me`: who this request is signed in as, read as the user through the session
 * function (`GET /sessions` with the access token the proxy refreshed for this request).
 */
import { SessionGuardError } from "@sessionguard/server";
import { guard } from "../../../lib/guard.ts";

export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  const g = await guard();
  const session = g.read(request);
  if (!session) return Response.json({ signed_in: false, reason: g.reason(request) }, { status: 401 });
  try {
    const devices = await g.devices(session);
    return Response.json({ signed_in: true, user_id: session.userId, session_id: session.sessionId, devices: devices.length });
  } catch (err) {
    const code = SessionGuardError.is(err) ? err.code : "server_error";
    return Response.json({ signed_in: false, reason: code }, { status: 401 });
  }
}
