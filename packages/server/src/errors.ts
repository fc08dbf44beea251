/**
 * Why a server-held session ended or a call failed. The session function's own codes
 * (docs/contract.md, "Errors") pass through as they are; the few this package adds are listed apart.
 */

/** Codes after which the cookie's session is dead: the cookie is cleared. */
export const TERMINAL_CODES: ReadonlySet<string> = new Set([
  "invalid_refresh_token",
  "refresh_token_reused",
  "session_revoked",
  "session_expired",
  "invalid_dpop_proof",
  "invalid_token",
]);

/**
 * Raised by this package itself:
 * - `not_signed_in`: no session cookie, or one that does not parse;
 * - `csrf_rejected`: a state-changing request that is not provably from the app's own pages;
 * - `network_error`: the session function did not answer;
 * - `invalid_response`: it answered something that is not the documented shape.
 */
export type LocalErrorCode = "not_signed_in" | "csrf_rejected" | "network_error" | "invalid_response";

// A brand instead of `instanceof`: bundlers (Next.js bundles its proxy and its routes apart)
// may load this module twice, and an error made by one copy must be recognised by the other.
const BRAND = Symbol.for("sessionguard.server.error");

/** An error with a `code` to switch on (never switch on the message). */
export class SessionGuardError extends Error {
  override readonly name = "SessionGuardError";
  readonly [BRAND] = true;

  /** True for a SessionGuardError from any copy of this package. */
  static is(err: unknown): err is SessionGuardError {
    return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
  }

  constructor(
    readonly code: string,
    message: string,
    /** HTTP status of the session function's answer, when there was one. */
    readonly status?: number,
  ) {
    super(message);
  }

  /** True when the session this error came from can never be used again. */
  get terminal(): boolean {
    return TERMINAL_CODES.has(this.code);
  }
}

/** Sentences a user understands, for the codes that sign them out. */
export const SIGNED_OUT_REASONS: Readonly<Record<string, string>> = {
  refresh_token_reused:
    "Someone used an old copy of your session, so it may have been stolen. For your safety we signed you out everywhere this session was used.",
  session_revoked: "This session was ended from another device.",
  session_expired: "Your session expired. Please sign in again.",
  invalid_refresh_token: "Your session is no longer valid. Please sign in again.",
  invalid_dpop_proof: "This server can no longer prove it holds your session. Please sign in again.",
  invalid_token: "Your sign-in could not be verified. Please sign in again.",
};
