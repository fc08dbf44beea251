/**
 * The session cookie: its name and attributes, and the value it carries.
 *
 * Attributes: `HttpOnly` (no page script reads it, so an XSS cannot copy the refresh
 * token), `SameSite=Lax` (a cross-site POST, iframe or fetch does not carry it; a
 * top-level GET navigation does, so links into the app keep working), `Path=/`, no
 * `Domain` (sibling subdomains never receive it). Over https it is `Secure` and named
 * with the `__Host-` prefix, which browsers accept only with `Secure`, `Path=/` and no
 * `Domain`: a subdomain or a plain-http page cannot plant or overwrite it (RFC 6265bis
 * §4.1.3.2). Over plain http (local development on a loopback host only) neither
 * `Secure` nor `__Host-` can be used: Safari stores no `Secure` cookie from
 * http://localhost, so the fallback name is unprefixed and not `Secure`; see
 * docs/server-rendering.md.
 */
import { decodeBase64url, encodeBase64url } from "./encoding.ts";

/** What the cookie holds: the refresh token and the current access token, with their facts. */
export interface CookieSession {
  readonly refreshToken: string;
  readonly accessToken: string;
  /** `"bearer"`, or `"DPoP"` when the family is bound to the server's key. */
  readonly tokenType: string;
  /** Access token expiry, Unix seconds. */
  readonly expiresAt: number;
  readonly sessionId: string;
  /** Absolute end of the session, Unix seconds. */
  readonly sessionExpiresAt: number;
  readonly userId: string;
}

/** Whether the cookie is written for https (`__Host-`, `Secure`) or the loopback http fallback. */
export interface CookieMode {
  readonly secure: boolean;
  /** Cookie base name, default `sessionguard`. */
  readonly name: string;
}

const MAX_VALUE_LENGTH = 3800; // browsers keep at least 4096 bytes per cookie, name and attributes included

/** The cookie's full name in this mode. */
export function cookieName(mode: CookieMode, suffix = ""): string {
  return `${mode.secure ? "__Host-" : ""}${mode.name}${suffix}`;
}

/** `Set-Cookie` for `value`, living `maxAge` seconds (0 clears it). */
export function serializeCookie(name: string, value: string, mode: CookieMode, maxAge: number): string {
  const parts = [`${name}=${value}`, "Path=/", `Max-Age=${Math.max(0, Math.floor(maxAge))}`, "HttpOnly", "SameSite=Lax"];
  if (mode.secure) parts.push("Secure");
  return parts.join("; ");
}

/** Cookies of a `Cookie` request header, by name (first occurrence wins, as RFC 6265 §5.4 orders them). */
export function parseCookieHeader(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const pair of (header ?? "").split(";")) {
    const at = pair.indexOf("=");
    if (at < 1) continue;
    const name = pair.slice(0, at).trim();
    if (!cookies.has(name)) cookies.set(name, pair.slice(at + 1).trim());
  }
  return cookies;
}

/** The cookie value for a session: base64url JSON, within what every browser keeps. */
export function encodeSession(session: CookieSession): string {
  const value = encodeBase64url(new TextEncoder().encode(JSON.stringify([
    1,
    session.refreshToken,
    session.accessToken,
    session.tokenType,
    session.expiresAt,
    session.sessionId,
    session.sessionExpiresAt,
    session.userId,
  ])));
  if (value.length > MAX_VALUE_LENGTH) throw new RangeError("sessionguard: the session does not fit in a cookie");
  return value;
}

/** The session in a cookie value, or null when it is not one this package wrote. */
export function decodeSession(value: string | undefined): CookieSession | null {
  if (!value || value.length > MAX_VALUE_LENGTH || !/^[A-Za-z0-9_-]+$/.test(value)) return null;
  try {
    const fields = JSON.parse(decodeBase64url(value)) as unknown[];
    const [version, refreshToken, accessToken, tokenType, expiresAt, sessionId, sessionExpiresAt, userId] = fields;
    if (
      version !== 1 || typeof refreshToken !== "string" || typeof accessToken !== "string" ||
      typeof tokenType !== "string" || typeof expiresAt !== "number" || typeof sessionId !== "string" ||
      typeof sessionExpiresAt !== "number" || typeof userId !== "string"
    ) return null;
    return { refreshToken, accessToken, tokenType, expiresAt, sessionId, sessionExpiresAt, userId };
  } catch {
    return null;
  }
}
