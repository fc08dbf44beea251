/**
 * `POST /start`: a Clerk session token in, a new session (generation 0) and its
 * token response out. The one moment sessionguard trusts Clerk.
 *
 * Reads top to bottom: the Clerk token and the body, then the checks: the Clerk
 * token (an RS256 verification), the DPoP proof (an ES256 verification, in memory),
 * the rate limits (a database round trip), and only then the proof's jti is
 * remembered (a write). A bad proof is refused before the budgets, so it spends
 * none and costs no round trip; the proof must come before the budgets because a
 * proof from an app server's key (SESSION_FORWARDING_KEYS) names the address they
 * count. Then the session is started and the tokens issued.
 */
import { Hono } from "hono";
import { bearerToken } from "../authorization.ts";
import { ApiError } from "../errors.ts";
import { optionalString, readJsonBody, requestIp, userAgent } from "../request.ts";
import type { RouteDeps } from "./deps.ts";
import { methodNotAllowed } from "./method-not-allowed.ts";
import { rateLimited, startCount } from "./rate-limits.ts";
import type { TokenResponder } from "./token-response.ts";

const MAX_DEVICE_NAME_LENGTH = 100;

/** The `/start` sub-app (mounted at `/start`). */
export function startRoute(deps: RouteDeps, tokenResponse: TokenResponder): Hono {
  const { config, store, proofs, now, verifyClerkToken } = deps;
  // Static policy, bound once.
  const { idleTimeout, absoluteLifetime, impersonationLifetime } = config.session;
  const limits = config.rateLimits;

  const app = new Hono();
  app.post("/", async (c) => {
    const clerkToken = bearerToken(c.req.raw);
    const body = await readJsonBody(c.req.raw);
    // The moment is taken once the body is in: a slow upload does not choose it.
    const at = now();
    const deviceName = optionalString(body, "device_name", MAX_DEVICE_NAME_LENGTH);

    const identity = await verifyClerkToken(clerkToken, at);
    // A proof here binds the new session to its key. Its jti is remembered like any
    // other (after the budgets), so a captured proof cannot start (and bind) a second
    // session. With SESSION_DPOP=off nothing new is bound and a bad proof is ignored.
    const proof = await proofs.verify(c.req.raw, at);
    const binding = config.dpop.mode === "off" ? null : proof;
    if (binding === null && config.dpop.mode === "required") {
      throw new ApiError("invalid_dpop_proof", { detail: "SESSION_DPOP=required and no proof" });
    }
    const ip = requestIp(c.req.raw, config, proof);
    const counted = startCount(limits, identity.userId, ip);
    if (counted !== null) {
      const wait = await store.countRequest(counted, at);
      if (wait > 0) throw rateLimited(wait, `start for ${identity.userId}`);
    }
    if (binding !== null && !(await proofs.use(binding, at))) {
      throw new ApiError("invalid_dpop_proof", { detail: "start proof jti already used" });
    }

    const started = await store.startSession({
      userId: identity.userId,
      clerkSessionId: identity.clerkSessionId,
      deviceName,
      ip,
      userAgent: userAgent(c.req.raw),
      idleTimeout,
      // An impersonated session (Clerk's `act`) lives no longer than SESSION_IMPERSONATION_LIFETIME.
      absoluteLifetime: identity.actorId === null
        ? absoluteLifetime
        : Math.min(absoluteLifetime, impersonationLifetime),
      dpopJkt: binding?.jkt ?? null,
      actorId: identity.actorId,
      claims: identity.claims,
      claimsIssuedAt: identity.issuedAt,
      sessionLimit: config.sessionLimit,
      now: at,
    });
    if (started.result === "limit_reached") {
      // SESSION_MAX_PER_USER_MODE=refuse: nothing started; the user's event log says why.
      throw new ApiError("invalid_request", {
        description: "You have too many active sessions. Sign out of a session you no longer use, then try again.",
        detail: `session limit reached for ${identity.userId}`,
      });
    }
    return tokenResponse(c, {
      userId: identity.userId,
      sessionId: started.sessionId,
      generation: started.generation,
      expiresAt: started.expiresAt,
      at,
      jkt: binding?.jkt ?? null,
      claims: { org: started.claims.org, actorId: identity.actorId },
    });
  });
  methodNotAllowed(app, "/", "POST");
  return app;
}
