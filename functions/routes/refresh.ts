/**
 * `POST /refresh`: rotation of a refresh token, and where a replayed one is
 * caught (P1–P4).
 *
 * Reads top to bottom: find (the token names a session and a generation, and
 * its MAC must verify before the database hears of it), checks (the DPoP
 * proof), then one round trip to `refresh_session`, which decides everything
 * under the family's row lock: reuse first (a generation already spent that no
 * grace covers revokes the session, or all the user's with
 * `SESSION_THEFT_SCOPE`, whatever any budget says), then the budgets, a seen
 * proof id, and the rotation or the successor already issued. Here its result code is handled: a reuse goes to
 * the theft response (Clerk revocation, security webhook), a rotation or grace
 * retry issues the token response.
 */
import { Hono } from "hono";
import { ApiError } from "../errors.ts";
import { readJsonBody, requestIp, userAgent } from "../request.ts";
import type { RefreshPolicy } from "../store.ts";
import type { RouteDeps } from "./deps.ts";
import { methodNotAllowed } from "./method-not-allowed.ts";
import { ipBudget, rateLimited } from "./rate-limits.ts";
import type { TokenResponder } from "./token-response.ts";

/** The `/refresh` sub-app (mounted at `/refresh`). */
export function refreshRoute(deps: RouteDeps, tokenResponse: TokenResponder): Hono {
  const { config, store, proofs, now, refreshTokens, onTheft } = deps;
  // The policy the database decides by, built once and passed as it is.
  const { idleTimeout, reuseGrace, theftScope } = config.session;
  const limits = config.rateLimits;
  const policy: RefreshPolicy = Object.freeze({
    idle_timeout: idleTimeout,
    reuse_grace: reuseGrace,
    theft_scope: theftScope,
    dpop_lifetime: proofs.replayWindow,
    dpop_mismatch: config.dpop.mismatch,
    rate_limit: limits?.refresh ?? null,
    ip_rate_limit: limits ? ipBudget(limits.refresh).count : null,
  });

  const app = new Hono();
  app.post("/", async (c) => {
    const body = await readJsonBody(c.req.raw);
    // The moment is taken once the body is in: a replay held back in a slow upload
    // must not fall inside a grace window that has closed.
    const at = now();

    // Find: a token this server did not mint is refused before the database hears of it (P4).
    const presented = body?.refresh_token;
    if (typeof presented !== "string") {
      throw new ApiError("invalid_request", { description: '"refresh_token" must be a string.' });
    }
    // `claims.family` is the session's id: a refresh token names the rotation chain it belongs to.
    const claims = await refreshTokens.verify(presented);
    if (claims === null) throw new ApiError("invalid_refresh_token", { detail: "shape, kid or MAC" });

    // Checks: a bad proof changes nothing.
    const proof = await proofs.verify(c.req.raw, at);

    // Rotate, or detect reuse: one round trip, decided under the session's row lock.
    const ip = requestIp(c.req.raw, config, proof);
    const agent = userAgent(c.req.raw);
    const rotated = await store.refreshSession({
      sessionId: claims.family,
      generation: claims.generation,
      policy,
      ip,
      userAgent: agent,
      // The database rotates a bound session only for its own key, and refuses a jti it has seen.
      dpopJkt: proof?.jkt ?? null,
      dpopJti: proof?.jti ?? null,
      now: at,
    });

    switch (rotated.result) {
      case "rotated":
      case "grace":
        // Issue. On "grace" the generation is the successor already handed out, so the
        // string is identical (P3).
        return tokenResponse(c, {
          userId: rotated.userId,
          sessionId: rotated.sessionId,
          generation: rotated.generation,
          expiresAt: rotated.expiresAt,
          at,
          jkt: rotated.dpopJkt,
          claims: { org: rotated.org, actorId: rotated.actorId },
        });
      case "reused":
        // Reuse: the session is already revoked (committed). The responder's outside calls
        // are bounded by its own timeout, so the 401 never waits longer than that.
        await onTheft?.({
          userId: rotated.userId,
          sessionId: rotated.sessionId,
          clerkSessionId: rotated.clerkSessionId,
          ip,
          userAgent: agent,
          scope: theftScope,
          detectedAt: at,
        });
        throw new ApiError("refresh_token_reused", {
          detail: `session ${claims.family} gen ${claims.generation}`,
        });
      case "rate_limited":
        throw rateLimited(rotated.retryAfter, `refresh of ${claims.family}`);
      case "dpop_replay":
        throw new ApiError("invalid_dpop_proof", { detail: "proof jti already used" });
      case "revoked":
        throw new ApiError("session_revoked");
      case "expired":
        throw new ApiError("session_expired");
      case "dpop_mismatch":
        // The refresh token is off its device: the database wrote dpop_key_mismatch and
        // rotated nothing (or, with SESSION_DPOP_MISMATCH=revoke, ended the session).
        throw new ApiError("invalid_dpop_proof", {
          detail: `session ${claims.family} is bound to another key (${proof ? "other key" : "no proof"})`,
        });
      case "not_found":
        throw new ApiError("invalid_refresh_token", { detail: "no such session or generation ahead" });
    }
  });
  methodNotAllowed(app, "/", "POST");
  return app;
}
