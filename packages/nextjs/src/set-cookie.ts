/**
 * The guard's `Set-Cookie` values as Next.js cookie-store calls. Written through
 * `response.cookies` / `cookies()` rather than raw headers, because Next.js's cookie store
 * rewrites every `Set-Cookie` header of a response from its own list whenever it is
 * touched (e.g. `response.cookies.delete(...)` later in the proxy): a raw header appended
 * beside it would be lost.
 */

/** What `cookies().set(name, value, options)` takes for one guard cookie. */
export interface CookieWrite {
  readonly name: string;
  readonly value: string;
  readonly options: { path: "/"; maxAge: number; httpOnly: true; sameSite: "lax"; secure: boolean };
}

/** One `Set-Cookie` value written by `@sessionguard/server` (Path=/, HttpOnly, SameSite=Lax). */
export function parseSetCookie(setCookie: string): CookieWrite {
  const [pair, ...attributes] = setCookie.split("; ");
  const at = pair!.indexOf("=");
  const maxAge = Number(attributes.find((a) => a.startsWith("Max-Age="))?.slice(8) ?? "0");
  return {
    name: pair!.slice(0, at),
    value: pair!.slice(at + 1),
    options: { path: "/", maxAge, httpOnly: true, sameSite: "lax", secure: attributes.includes("Secure") },
  };
}
