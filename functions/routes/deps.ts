/**
 * What every route of the session API is built from: the injected services,
 * the clock, and the DPoP proof checks, resolved once by the composition file
 * (functions/handler.ts). Each route binds the static policy it needs (idle
 * timeout, grace, theft scope, limits) when it is built; a request then passes
 * only its own facts (tokens, proof, ip, user agent, the moment).
 */
import type { AccessTokens } from "../access-token.ts";
import type { ClerkVerifier } from "../clerk-session-token.ts";
import type { Config } from "../config.ts";
import type { RefreshTokens } from "../refresh-token.ts";
import type { Store } from "../store.ts";
import type { TheftResponder } from "../theft-response.ts";
import type { DpopProofs } from "./dpop-proofs.ts";

/** The services and settings the routes share. */
export interface RouteDeps {
  readonly config: Config;
  readonly store: Store;
  readonly verifyClerkToken: ClerkVerifier;
  readonly accessTokens: AccessTokens;
  readonly refreshTokens: RefreshTokens;
  readonly proofs: DpopProofs;
  /** The clock every expiry decision uses. */
  readonly now: () => Date;
  /** What else to do when a reused refresh token is caught (Clerk revocation, webhook). */
  readonly onTheft?: TheftResponder;
}

/** Seconds since the epoch, as every timestamp of the API is given. */
export const unix = (date: Date): number => Math.floor(date.getTime() / 1000);

/** Headers of every answer that carries a token or a user's data. */
export const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };
