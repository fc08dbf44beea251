/**
 * The authentication middleware of the account routes: an access token
 * (`Bearer`, or `DPoP` when bound to a device key) whose session still lives.
 *
 * The request's moment is taken once its body is in (a client decides how long
 * its upload takes, and must not be judged at an earlier moment of its choosing),
 * then the token is verified; a token bound to a device key (`cnf.jkt`) needs a
 * proof from that key, carrying the token's hash, that was never used before. Then
 * the caller's budget is counted (the owner's, or the session's strangers') and
 * the session's state read from the database.
 */
import type { MiddlewareHandler } from "hono";
import type { AccessTokenClaims } from "../access-token.ts";
import { accessToken } from "../authorization.ts";
import { ApiError } from "../errors.ts";
import { type JsonObject, readJsonBody, requestIp } from "../request.ts";
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
    /** The address the request is counted and recorded under (functions/request.ts, `requestIp`). */
    readonly ip: string | null;
  };
}

/** Builds the middleware; refusals are thrown as {@link ApiError}s. */
export function authenticate(
  { config, store, accessTokens, proofs, now }: RouteDeps,
): MiddlewareHandler<Authenticated> {
  const limits = config.rateLimits;
  /** The request's proof when it is a valid one from `jkt`; null when it carries none or another key's. */
  const provenKey = async (request: Request, at: Date, token: string, jkt: string) => {
    try {
      const proof = await proofs.verify(request, at, token);
      return proof !== null && proof.jkt === jkt ? proof : null;
    } catch (err) {
      // A bad proof is a stranger's; a nonce challenge is the owner's to answer, and
      // anything else is not about the caller: pass those on.
      if (!(err instanceof ApiError) || err.code !== "invalid_dpop_proof") throw err;
      return null;
    }
  };
  return async (c, next) => {
    const body = c.req.method === "POST" ? await readJsonBody(c.req.raw) : undefined;
    const at = now();
    const token = accessToken(c.req.raw);
    const claims = await accessTokens.verify(token, at);
    // A token bound to a device key (`cnf.jkt`) needs a fresh proof from that key. The
    // proof is checked before any budget is charged: a caller without the key (a copied
    // token) is counted in the session's strangers' budgets and refused, so it can spend
    // neither the owner's budget nor the budget of the owner's address (P13).
    const bound = claims.cnf?.jkt;
    const proof = bound === undefined ? null : await provenKey(c.req.raw, at, token, bound);
    const stranger = bound !== undefined && proof === null;
    const ip = requestIp(c.req.raw, config, proof);
    const counted = sessionCount(limits, claims.sid, ip, stranger);
    const [wait, status] = await Promise.all([
      counted === null ? 0 : store.countRequest(counted, at),
      stranger ? "stranger" : store.sessionStatus(claims.sid, claims.sub, at),
    ]);
    if (wait > 0) throw rateLimited(wait, `${c.req.method} ${c.req.path} of ${claims.sid}`);
    if (stranger) throw new ApiError("invalid_dpop_proof", { detail: "bound access token without a proof from its key" });
    // One row per bound call, kept for the proof window only (purge_expired) and
    // bounded by the budget above: the price of refusing a replayed proof.
    if (proof !== null && !(await proofs.use(proof, at))) {
      throw new ApiError("invalid_dpop_proof", { detail: "proof jti already used" });
    }
    if (status === "revoked") throw new ApiError("session_revoked");
    if (status === "expired") throw new ApiError("session_expired");
    if (status !== "active") throw new ApiError("invalid_token", { detail: `session ${status}` });
    c.set("claims", claims);
    c.set("at", at);
    c.set("body", body);
    c.set("ip", ip);
    await next();
  };
}
