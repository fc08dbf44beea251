/**
 * CSRF checks for state-changing requests (anything but GET, HEAD, OPTIONS).
 *
 * In order, the first header present decides:
 * 1. `Sec-Fetch-Site` (Fetch Metadata, sent by every current browser): only
 *    `same-origin` passes. `same-site` is refused too: a sibling subdomain or another
 *    port of the same host is another origin, and SameSite=Lax cookies do reach it.
 * 2. `Origin`: must be the request's own origin or one of `allowedOrigins`; `null`
 *    (sandboxed frames, some redirects) is refused.
 * 3. Neither (old browsers, some privacy proxies): a double-submit token. The
 *    server sets an HttpOnly cookie with a random value and puts the same value in
 *    its forms (`csrf_token`) or a header (`x-csrf-token`); a cross-site page can
 *    neither read the cookie nor guess the value. The comparison is constant-time.
 * OWASP CSRF Prevention Cheat Sheet ("Fetch Metadata headers", "Verifying origin with
 * standard headers", "Signed double-submit cookie").
 */
import { SessionGuardError } from "./errors.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface CsrfInput {
  /** Origins besides the request's own that may post (e.g. the public origin behind a proxy). */
  readonly allowedOrigins: readonly string[];
  /** The token cookie's value, if the browser sent one. */
  readonly cookieToken: string | undefined;
  /** The token the request carries (form field or header), if any. */
  readonly requestToken: string | null | undefined;
}

/** Throws `csrf_rejected` unless the request is safe or provably from the app's own pages. */
export function assertSameOrigin(request: Request, input: CsrfInput): void {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return;
  const site = request.headers.get("sec-fetch-site");
  if (site !== null) {
    if (site === "same-origin") return;
    throw new SessionGuardError("csrf_rejected", `refused a ${site} request`, 403);
  }
  const origin = request.headers.get("origin");
  if (origin !== null) {
    const own = new URL(request.url).origin;
    if (origin !== "null" && (origin === own || input.allowedOrigins.includes(origin))) return;
    throw new SessionGuardError("csrf_rejected", "refused a request from another origin", 403);
  }
  const expected = input.cookieToken;
  const given = input.requestToken ?? request.headers.get("x-csrf-token");
  if (expected && given && equal(expected, given)) return;
  throw new SessionGuardError("csrf_rejected", "refused a request without origin headers or a valid CSRF token", 403);
}

/** Constant-time string comparison (the length is not secret: tokens have a fixed length). */
function equal(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
