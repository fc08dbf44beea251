/**
 * `POST /claims`: a fresh Clerk session token in, the session's organization and
 * verification updated, a new access token out (P15). The SDK calls it when the
 * user switches organization in Clerk, or after Clerk's reverification.
 *
 * Reads top to bottom: the caller proves the session with its access token (and,
 * for a device-bound session, a DPoP proof from its key: the authentication
 * middleware); the body's `clerk_token` is verified like a token at `/start`;
 * then one round trip to `update_session_claims`, which under the session's row
 * lock refuses a token of another Clerk session or user (mismatch) and one older
 * than the newest already applied (stale), and otherwise writes the claims and
 * the event. A refusal changes nothing. The refresh token is not rotated: the
 * next refresh carries on as before.
 */
import { Hono } from "hono";
import { ApiError } from "../errors.ts";
import { userAgent } from "../request.ts";
import { authenticate, type Authenticated } from "./authenticate.ts";
import { NO_STORE, type RouteDeps, unix } from "./deps.ts";
import { methodNotAllowed } from "./method-not-allowed.ts";

/** The `/claims` sub-app (mounted at `/claims`). */
export function claimsRoute(deps: RouteDeps): Hono<Authenticated> {
  const { store, accessTokens, verifyClerkToken } = deps;
  const app = new Hono<Authenticated>();

  app.post("/", authenticate(deps), async (c) => {
    const { claims: session, at, body, ip } = c.var;
    const clerkToken = body?.clerk_token;
    if (typeof clerkToken !== "string" || clerkToken === "") {
      throw new ApiError("invalid_request", { description: '"clerk_token" must be a Clerk session token.' });
    }
    const identity = await verifyClerkToken(clerkToken, at);
    const updated = await store.updateSessionClaims({
      sessionId: session.sid,
      userId: identity.userId,
      clerkSessionId: identity.clerkSessionId,
      actorId: identity.actorId,
      claims: identity.claims,
      claimsIssuedAt: identity.issuedAt,
      ip,
      userAgent: userAgent(c.req.raw),
      now: at,
    });

    switch (updated.result) {
      case "updated":
      case "unchanged": {
        const access = await accessTokens.sign({
          userId: session.sub,
          sessionId: session.sid,
          now: at,
          notAfter: updated.expiresAt ?? undefined,
          jkt: updated.dpopJkt,
          claims: { org: updated.org, actorId: identity.actorId },
        });
        return c.json(
          {
            access_token: access.token,
            token_type: updated.dpopJkt ? "DPoP" : "bearer",
            expires_in: access.claims.exp - access.claims.iat,
            expires_at: access.claims.exp,
            session: { id: session.sid, expires_at: updated.expiresAt ? unix(updated.expiresAt) : access.claims.exp },
            user_id: session.sub,
            organization: updated.org &&
              { id: updated.org.id, role: updated.org.role, slug: updated.org.slug, permissions: updated.org.permissions },
          },
          200,
          NO_STORE,
        );
      }
      case "mismatch":
      case "stale":
      case "not_found":
        // The same answer for each: a caller learns nothing about another session.
        throw new ApiError("invalid_token", {
          description: "The Clerk session token is not a fresh token of this session.",
          detail: `claims for ${session.sid}: ${updated.result}`,
        });
      case "revoked":
        throw new ApiError("session_revoked");
      case "expired":
        throw new ApiError("session_expired");
    }
  });
  methodNotAllowed(app, "/", "POST");
  return app;
}
