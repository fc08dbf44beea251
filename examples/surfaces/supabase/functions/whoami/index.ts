/**
 * Example: an app's own Edge Function that only a live sessionguard session may call.
 * A revoked, expired or idle session's very next request gets 401, though its access
 * token has not expired (docs/surfaces.md, "Your own Edge Functions").
 */
import { requireSession } from "../../../../../supabase/functions/_shared/require-session.ts";

Deno.serve(async (req) => {
  const session = await requireSession(req);
  if (session instanceof Response) return session;
  return Response.json({
    user_id: session.userId,
    session_id: session.sessionId,
    org_id: session.orgId ?? null,
  });
});
