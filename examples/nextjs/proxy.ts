/**
 * Every page and Route Handler request passes here first (Next.js 16 "proxy", formerly
 * middleware): the sessionguard cookie is refreshed shortly before expiry, started from
 * the identity's token on first sign-in and ended with the identity's sign-out.
 *
 * With Clerk keys set, this runs inside `clerkMiddleware` and the identity is Clerk's
 * `auth()`. Without them, the identity is the local development issuer's (not Clerk).
 */
import { clerkMiddleware } from "@clerk/nextjs/server";
import { clerkIdentity, createSessionGuardProxy } from "@sessionguard/nextjs";
import type { NextRequest } from "next/server";
import { guard } from "./lib/guard.ts";
import { LOCAL_IDENTITY_COOKIE, localIdentity } from "./lib/local-identity.ts";
import { settings } from "./lib/settings.ts";

const sessionguard = createSessionGuardProxy({ guard: guard(), deviceName: deviceNameOf });

const withClerk = clerkMiddleware(async (auth, request) => {
  return (await sessionguard(request, clerkIdentity(await auth()))).response;
});

async function withLocalIdentity(request: NextRequest) {
  const { response, state } = await sessionguard(request, localIdentity(request));
  // The session ended for a reason (theft, revocation): the demo identity signs out with it,
  // as Clerk's session does when the session function ends it (CLERK_SECRET_KEY).
  if (state.reason) response.cookies.delete(LOCAL_IDENTITY_COOKIE);
  return response;
}

export default settings.clerk ? withClerk : withLocalIdentity;

export const config = {
  // Everything but Next.js's own assets.
  matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"],
};

/** "Chrome on Linux": what the device list shows for a session started here. */
function deviceNameOf(request: Request): string {
  const ua = request.headers.get("user-agent") ?? "";
  const browser = /Edg\//.test(ua) ? "Edge" : /Chrome\//.test(ua) ? "Chrome" : /Firefox\//.test(ua) ? "Firefox" : /Safari\//.test(ua) ? "Safari" : "A browser";
  const os = /Windows/.test(ua) ? "Windows" : /Mac OS/.test(ua) ? "macOS" : /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Linux/.test(ua) ? "Linux" : "an unknown system";
  return `${browser} on ${os} (server session)`;
}
