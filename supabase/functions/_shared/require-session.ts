/**
 * `requireSession(req)` for your own Edge Functions, set up from the function's
 * secrets once per instance (module scope: the key set is fetched once and cached).
 * Copy this file to `supabase/functions/_shared/` in your project, with sessionguard's
 * `functions/` folder beside your functions (the import below), and in a function:
 *
 *   import { requireSession } from "../_shared/require-session.ts";
 *   Deno.serve(async (req) => {
 *     const session = await requireSession(req);
 *     if (session instanceof Response) return session; // 401, in sessionguard's error shape
 *     return Response.json({ user: session.userId });
 *   });
 *
 * Settings (function secrets), as the session function reads them:
 *   SESSION_ISSUER         `iss` of access tokens; default `<SUPABASE_URL>/functions/v1/session`
 *   SESSION_JWKS_URL       default `<SESSION_ISSUER>/.well-known/jwks.json` (ES256 tokens)
 *   SESSION_JWT_SECRET     the legacy HS256 secret, for projects that sign with it instead
 *   DATABASE_URL           default `SUPABASE_DB_URL` (set by Supabase in every function)
 * A missing setting is logged by name, and every request then answers 500 server_error.
 */
import postgres from "postgres";
import { ApiError, errorResponse } from "../../../functions/errors.ts";
import { createRequireSession, type RequireSession } from "../../../functions/require-session.ts";

export type { RequireSession, SessionIdentity } from "../../../functions/require-session.ts";

/** Builds `requireSession` from settings; throws an Error naming a missing one. */
export function requireSessionFromEnv(env: Record<string, string | undefined>): RequireSession {
  const supabaseUrl = env.SUPABASE_URL?.replace(/\/+$/, "");
  const issuer = env.SESSION_ISSUER || (supabaseUrl ? `${supabaseUrl}/functions/v1/session` : "");
  if (!issuer) throw new Error("SESSION_ISSUER is not set (nor SUPABASE_URL to derive it from)");
  const databaseUrl = env.DATABASE_URL || env.SUPABASE_DB_URL;
  if (!databaseUrl) throw new Error("DATABASE_URL is not set (nor SUPABASE_DB_URL)");
  return createRequireSession({
    issuer,
    ...(env.SESSION_JWT_SECRET
      ? { jwtSecret: env.SESSION_JWT_SECRET }
      : { jwksUrl: env.SESSION_JWKS_URL || `${issuer.replace(/\/+$/, "")}/.well-known/jwks.json` }),
    // prepare: false, so that it works through Supabase's transaction pooler too.
    sql: postgres(databaseUrl, { max: 4, prepare: false, onnotice: () => {} }),
    publicFunctionsUrls: supabaseUrl ? [`${supabaseUrl}/functions/v1`] : [],
  });
}

function fromEnvOrBroken(): RequireSession {
  try {
    return requireSessionFromEnv(Deno.env.toObject());
  } catch (error) {
    console.error(`requireSession: cannot start: ${(error as Error).message}`);
    return () => Promise.resolve(errorResponse(new ApiError("server_error", { detail: "settings" })));
  }
}

/** Checks a request: the caller's identity, or a ready 401 Response to return. */
export const requireSession: RequireSession = fromEnvOrBroken();
