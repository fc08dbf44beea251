/** Shapes of the session server's HTTP API (docs/contract.md, "HTTP API"). Times are Unix seconds. */

/** The body of a 200 from `POST /start` and `POST /refresh`. */
export interface TokenResponse {
  access_token: string;
  /** `DPoP` when the session is bound to a device key: every use needs a proof with the token's hash. */
  token_type: "bearer" | "DPoP";
  expires_in: number;
  expires_at: number;
  refresh_token: string;
  session: { id: string; expires_at: number };
  user_id: string;
}

/** One of the caller's active sessions, as `GET /sessions` lists it. */
export interface DeviceSession {
  id: string;
  device_name: string | null;
  user_agent: string | null;
  ip: string | null;
  created_at: number;
  last_active_at: number;
  expires_at: number;
  /** True on the session the request was made with. */
  current: boolean;
}

export type SecurityEventType =
  | "session_started"
  | "signed_out"
  | "session_revoked"
  | "refresh_token_reused"
  | "session_expired"
  | "clerk_session_ended"
  | "user_deleted"
  | "dpop_key_mismatch"
  // The server may add types; keep the union open without losing completion.
  | (string & {});

/** One of the caller's security events, as `GET /events` lists them (newest first). */
export interface SecurityEvent {
  id: string;
  type: SecurityEventType;
  session_id: string | null;
  created_at: number;
  ip: string | null;
  user_agent: string | null;
  /** A sentence meant for the user. */
  description: string;
}

/** What the SDK keeps in storage for the signed-in session. */
export interface StoredSession {
  access_token: string;
  /** Access token expiry, Unix seconds. */
  expires_at: number;
  /** Access token lifetime the server granted, seconds. */
  expires_in: number;
  refresh_token: string;
  session_id: string;
  /** Absolute end of the session, Unix seconds. */
  session_expires_at: number;
  user_id: string;
}

/** The non-secret part of the stored session, for showing who is signed in. */
export interface SessionInfo {
  session_id: string;
  user_id: string;
  expires_at: number;
  session_expires_at: number;
}

export type SignOutScope = "local" | "others" | "global";
