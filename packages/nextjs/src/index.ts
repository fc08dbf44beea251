/**
 * @sessionguard/nextjs: the App Router adapter. This entry is for `proxy.ts` and Route
 * Handlers; `@sessionguard/nextjs/server` for Server Components and Server Actions;
 * `@sessionguard/nextjs/client` for client components.
 */
export { createSessionGuardProxy, type ProxyResult, type SessionGuardProxyOptions, withCookies } from "./proxy.ts";
export { clerkIdentity, type ClerkAuthLike, type Identity } from "./identity.ts";
export { createSessionGuardRoute, type PublicSession, publicSession, type SessionGuardRouteOptions } from "./route.ts";
