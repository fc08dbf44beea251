/**
 * The authentication middleware of the account routes: an access token
 * (`Bearer`, or `DPoP` when bound to a device key) whose session still lives.
 *
 * The request's moment is taken once its body is in (a client decides how long
 * its upload takes, and must not be judged at an earlier moment of its choosing),
 * then the token is verified, the session's budget counted and its state read
 * from the database. A token bound to a device key (`cnf.jkt`) also needs a proof
 * from that key, carrying the token's hash, that was never used before.
 */
import type { MiddlewareHandler } from "hono";
import type { AccessTokenClaims } from "../access-token.ts";
import { accessToken } from "../authorization.ts";
import { ApiError } from "../errors.ts";
import { clientIp, type JsonObject, readJsonBody } from "../request.ts";
import type { RouteDeps } from "./deps.ts";
import { rateLimited, sessionCount } from "./rate-limits.ts";

/** What the middleware hands to the route. */
export interface Authenticated {
  Variables: {
    /** The verified access token's claims; `sid` is the session. */
    readonly claims: AccessTokenClaims;
    /** The request's moment. */
    readonly at: Date;
    /** A POST's JSON body, read before the moment is taken; undefined otherwise or when empty. */
    readonly body: JsonObject | undefined;
  };
}

/** Builds the middleware; refusals are thrown as {@link ApiError}s. */
export function authenticate(
  { config, store, accessTokens, proofs, now }: RouteDeps,
): MiddlewareHandler<Authenticated> {
  const limits = config.rateLimits;
  return async (c, next) => {
    const body = c.req.method === "POST" ? await readJsonBody(c.req.raw) : undefined;
    const at = now();
    const token = accessToken(c.req.raw);
    const claims = await accessTokens.verify(token, at);
    const bound = proofs.mode === "off" ? undefined : claims.cnf?.jkt;
    // Every route a session calls shares the session's budget (the refresh budget of
    // SESSION_RATE_LIMITS) and its ip's, counted before a DPoP proof is verified; the
    // session's state is read in the same moment.
    const ip = clientIp(c.req.raw, config.clientIp);
    const counted = sessionCount(limits, claims.sid, ip);
    const [wait, status] = await Promise.all([
      counted === null ? 0 : store.countRequest(counted, at),
      store.sessionStatus(claims.sid, claims.sub, at),
    ]);
    if (wait > 0) throw rateLimited(wait, `${c.req.method} ${c.req.path} of ${claims.sid}`);
    if (bound !== undefined) {
      const proof = await proofs.verify(c.req.raw, at, token);
      if (proof === null) {
        throw new ApiError("invalid_dpop_proof", { detail: "bound access token without proof" });
      }
      if (proof.jkt !== bound) throw new ApiError("invalid_dpop_proof", { detail: "proof from another key" });
      // One row per bound call, kept for the proof window only (purge_expired) and
      // bounded by the budget above: the price of refusing a replayed proof.
      if (!(await proofs.use(proof, at))) {
        throw new ApiError("invalid_dpop_proof", { detail: "proof jti already used" });
      }
    }
    if (status === "revoked") throw new ApiError("session_revoked");
    if (status === "expired") throw new ApiError("session_expired");
    if (status !== "active") throw new ApiError("invalid_token", { detail: `session ${status}` });
    c.set("claims", claims);
    c.set("at", at);
    c.set("body", body);
    await next();
  };
}
