import type { SessionError } from "./errors.ts";
import type { SessionInfo } from "./types.ts";

/**
 * Why the session ended here:
 * - `signed_out`: this client (or another tab) called `signOut`.
 * - a server code: the server said the session is over (`refresh_token_reused` is theft;
 *   `invalid_dpop_proof`: the session is bound to a device key this client does not hold).
 */
export type SignedOutReason =
  | "signed_out"
  | "refresh_token_reused"
  | "session_revoked"
  | "session_expired"
  | "invalid_refresh_token"
  | "invalid_dpop_proof";

/** Events a session client emits; subscribe with `client.on(name, listener)`. */
export interface SessionEvents {
  /** A session was started (here or in another tab). */
  signedIn: { session: SessionInfo; source: "this" | "other-tab" };
  /** New tokens: this client refreshed, or another tab did and handed them over. */
  tokensRefreshed: { session: SessionInfo; source: "this" | "other-tab" };
  /** The stored session is gone; the app should show its signed-out state. */
  signedOut: { reason: SignedOutReason; source: "this" | "other-tab" };
  /**
   * The server saw a spent refresh token presented again and revoked the session
   * (its whole family, or all of the user's with `SESSION_THEFT_SCOPE=user`).
   * Emitted before the matching `signedOut`.
   */
  theftDetected: { error: SessionError; source: "this" | "other-tab" };
}
