/**
 * The session as the client keeps it in storage: its format (versioned), how a token
 * response becomes one, how one read back is recognised, and when it is due for a
 * refresh. Expiry is judged from the local time the tokens arrived, never from the
 * server's clock, so a skewed device clock neither refreshes early nor too late.
 */
import { boundKeyOf } from "./dpop-proof.ts";
import type { SessionInfo, StoredSession, TokenResponse } from "./types.ts";

/** Stored-session format version: bump when the shape changes. */
const FORMAT = 1;

/** A stored session, as written to storage and handed to other tabs. */
export interface Persisted extends StoredSession {
  v: typeof FORMAT;
  /** Local clock (ms) when the tokens arrived: expiry is judged from it, immune to clock skew. */
  received_at: number;
  /** Thumbprint of the device key the session is bound to (DPoP), when it is. */
  dpop_jkt?: string;
}

/** The stored form of a token response that arrived at `receivedAt` (local ms). */
export function persisted(t: TokenResponse, receivedAt: number): Persisted {
  const jkt = boundKeyOf(t.access_token);
  return {
    ...(jkt ? { dpop_jkt: jkt } : {}),
    v: FORMAT,
    access_token: t.access_token,
    expires_at: t.expires_at,
    expires_in: t.expires_in,
    refresh_token: t.refresh_token,
    session_id: t.session.id,
    session_expires_at: t.session.expires_at,
    user_id: t.user_id,
    received_at: receivedAt,
  };
}

/** True for a stored session of this format (storage and tab messages are untrusted shapes). */
export function isPersisted(value: unknown): value is Persisted {
  if (!value || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return v.v === FORMAT && typeof v.access_token === "string" &&
    typeof v.refresh_token === "string" &&
    typeof v.session_id === "string" && typeof v.user_id === "string" &&
    typeof v.expires_in === "number" &&
    typeof v.expires_at === "number" && typeof v.received_at === "number" &&
    typeof v.session_expires_at === "number";
}

/** The non-secret part, for the app. */
export function info(s: StoredSession): SessionInfo {
  return {
    session_id: s.session_id,
    user_id: s.user_id,
    expires_at: s.expires_at,
    session_expires_at: s.session_expires_at,
  };
}

/** When the access token expires, local ms. */
export function expiresAtMs(s: Persisted): number {
  return s.received_at + s.expires_in * 1000;
}

/** When a refresh is due, local ms: `marginMs` before expiry, at most a quarter of the lifetime. */
export function refreshDueAtMs(s: Persisted, marginMs: number): number {
  const lifetime = s.expires_in * 1000;
  return expiresAtMs(s) - Math.min(marginMs, lifetime / 4);
}
