/**
 * @sessionguard/server: a sessionguard session held by the app's server in an HttpOnly
 * cookie, refreshed server-to-server. Web-standard Request/Response only.
 */
export {
  createSessionGuard,
  forwardedClientAddress,
  type SessionGuard,
  type SessionGuardOptions,
  type SessionState,
} from "./session-guard.ts";
export { type CookieSession, parseCookieHeader } from "./cookie.ts";
export { SessionGuardError, SIGNED_OUT_REASONS, TERMINAL_CODES } from "./errors.ts";
export { generateServerKeyJwk, importServerKey, type ServerKey } from "./server-key.ts";
export type { AccessToken, DeviceSession, SecurityEvent, TokenResponse } from "./session-api.ts";
