/**
 * Checking one of sessionguard's access tokens, once for every place that accepts them:
 * the session function's account routes (access-token.ts) and users' own functions
 * (require-session.ts). Imports only jose and the error set, so a user's function that
 * verifies tokens does not carry the signer.
 */
import { type JWTPayload, jwtVerify, type JWTVerifyGetKey } from "jose";
import { describe } from "./describe-error.ts";
import { ApiError } from "./errors.ts";
import { isThumbprint, isUuid } from "./formats.ts";

/** Largest clock difference accepted on `exp`/`iat`, seconds (as PostgREST's 30 s at most). */
const CLOCK_TOLERANCE_SECONDS = 5;

/** What an access token says once its signature and claims have been checked. */
export interface VerifiedAccessToken {
  readonly sub: string;
  readonly sid: string;
  readonly iat: number;
  readonly exp: number;
  /** The thumbprint of the key the token is bound to (`cnf.jkt`), or null when unbound. */
  readonly jkt: string | null;
  /** Every claim, as signed (organization and `act` claims included). */
  readonly payload: JWTPayload;
}

/**
 * Verifies one of our access tokens with `key` (a key, or a function of the header as
 * jose takes it): the algorithm pinned to `algorithms`, `iss`, `aud` and `role`
 * `authenticated`, `exp` with 5 s of clock skew, a `sub`, a uuid `sid` and, when present,
 * a well-formed `cnf.jkt`. Every refusal is `invalid_token`, its reason in `detail` only.
 */
export async function verifyAccessToken(
  token: string,
  key: JWTVerifyGetKey | CryptoKey | Uint8Array,
  options: { issuer: string; algorithms: string[]; now: Date },
): Promise<VerifiedAccessToken> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key as JWTVerifyGetKey, {
      algorithms: options.algorithms,
      issuer: options.issuer,
      audience: "authenticated",
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: options.now,
      requiredClaims: ["sub", "sid", "iat", "exp"],
    }));
  } catch (error) {
    throw new ApiError("invalid_token", { detail: `access token: ${describe(error)}` });
  }
  const { sub, sid, role, iat, exp, cnf } = payload;
  if (typeof sub !== "string" || sub === "" || !isUuid(sid)) {
    throw new ApiError("invalid_token", { detail: "access token: bad sub or sid" });
  }
  if (role !== "authenticated") throw new ApiError("invalid_token", { detail: "access token: bad role" });
  let jkt: string | null = null;
  if (cnf !== undefined) {
    const bound = (cnf as { jkt?: unknown } | null)?.jkt;
    if (!isThumbprint(bound)) throw new ApiError("invalid_token", { detail: "access token: bad cnf" });
    jkt = bound;
  }
  return { sub, sid, iat: iat!, exp: exp!, jkt, payload };
}
