/**
 * LOCAL DEVELOPMENT ISSUER — not Clerk. Without Clerk keys the example signs in through
 * `npm start`'s development issuer: the "identity" is an HttpOnly cookie naming a demo
 * user, and its session token comes from `GET /dev/clerk-token?user=...` on the stack,
 * which signs Clerk-shaped tokens the session function checks exactly as Clerk's. The
 * issuer signs for anyone, so this mode exists only on a developer's machine.
 */
import type { Identity } from "@sessionguard/nextjs";
import { settings } from "./settings.ts";

export const LOCAL_IDENTITY_COOKIE = "example-local-identity";
const USER = /^[A-Za-z0-9_-]{1,64}$/;

/** The identity the request's cookie names, signed in through the development issuer. */
export function localIdentity(request: Request): Identity {
  const cookie = request.headers.get("cookie") ?? "";
  const match = new RegExp(`(?:^|;\\s*)${LOCAL_IDENTITY_COOKIE}=([^;]*)`).exec(cookie);
  const user = match && USER.test(match[1]!) ? match[1]! : null;
  return {
    userId: user === null ? null : user.startsWith("user_") ? user : `user_demo_${user}`,
    async getToken() {
      if (!user) return null;
      const res = await fetch(`${settings.stack}/dev/clerk-token?user=${encodeURIComponent(user)}`, { cache: "no-store" });
      if (!res.ok) return null;
      return ((await res.json()) as { token: string }).token;
    },
  };
}
