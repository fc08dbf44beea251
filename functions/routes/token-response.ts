/**
 * The token response of `/start` and `/refresh` (docs/contract.md, "Token response"): an
 * access token signed now and the refresh token of the session's current
 * generation, minted from the secret (never stored).
 */
import type { Context } from "hono";
import type { AccessTokens, SessionClaimsInput } from "../access-token.ts";
import type { RefreshTokens } from "../refresh-token.ts";
import { NO_STORE, unix } from "./deps.ts";

/** What a token response is issued for. */
export interface TokenGrant {
  readonly userId: string;
  readonly sessionId: string;
  /** The generation the refresh token names. */
  readonly generation: number;
  /** The session's absolute expiry; the access token never outlives it. */
  readonly expiresAt: Date;
  /** The moment of the request. */
  readonly at: Date;
  /** The device key the session is bound to, or null. */
  readonly jkt: string | null;
  /** The session's Clerk organization and impersonator, carried in the access token. */
  readonly claims?: SessionClaimsInput;
}

/** Answers a request with the token response of a grant. */
export type TokenResponder = (c: Context, grant: TokenGrant) => Promise<Response>;

/**
 * Builds the responder. A session bound to a device key (`jkt`) gets access
 * tokens with `cnf.jkt`, of token type `DPoP` (RFC 9449 §5).
 */
export function createTokenResponder(
  accessTokens: AccessTokens,
  refreshTokens: RefreshTokens,
): TokenResponder {
  return async (c, { userId, sessionId, generation, expiresAt, at, jkt, claims }) => {
    const [access, refreshToken] = await Promise.all([
      accessTokens.sign({ userId, sessionId, now: at, notAfter: expiresAt, jkt, claims }),
      refreshTokens.mint(sessionId, generation),
    ]);
    return c.json(
      {
        access_token: access.token,
        token_type: jkt ? "DPoP" : "bearer",
        expires_in: access.claims.exp - access.claims.iat,
        expires_at: access.claims.exp,
        refresh_token: refreshToken,
        session: { id: sessionId, expires_at: unix(expiresAt) },
        user_id: userId,
      },
      200,
      NO_STORE,
    );
  };
}
