/**
 * The store's queries of what a user sees of their sessions and how they end:
 * the status an access-token request checks, the lists behind `/sessions` and
 * `/events`, revocation, and the record of a theft response Clerk did not take.
 * Each is one round trip to a `sessionguard.*` function of migration
 * `*_revocation.sql` (the theft-response record: `*_clerk_lifecycle.sql`).
 */
import { run, type Sql, toInt } from "./database.ts";

/** A family's state as seen by routes authenticated with an access token. */
export type SessionStatus = "active" | "revoked" | "expired" | "not_found";

/** Why a session ends (and the event type written for it). */
export type RevokeReason = "signed_out" | "session_revoked";

/** A live session as `/sessions` lists it. */
export interface SessionRow {
  readonly id: string;
  readonly deviceName: string | null;
  readonly userAgent: string | null;
  readonly ip: string | null;
  readonly createdAt: Date;
  readonly lastActiveAt: Date;
  readonly expiresAt: Date;
}

/** A security event as `/events` lists it. */
export interface EventRow {
  readonly id: number;
  readonly type: string;
  readonly sessionId: string | null;
  readonly createdAt: Date;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly description: string;
}

/** Status, lists and revocation, one round trip per call. */
export interface AccountQueries {
  /** Records that ending the Clerk session after a theft failed, as a security event. */
  recordClerkRevokeFailed(sessionId: string, ip: string | null, userAgent: string | null): Promise<void>;
  sessionStatus(sessionId: string, userId: string, now: Date): Promise<SessionStatus>;
  revokeSession(userId: string, sessionId: string, reason: RevokeReason, now: Date): Promise<boolean>;
  revokeOtherSessions(userId: string, keepSessionId: string, now: Date): Promise<number>;
  revokeUserSessions(userId: string, reason: RevokeReason, now: Date): Promise<number>;
  listSessions(userId: string, now: Date): Promise<SessionRow[]>;
  listEvents(userId: string, limit: number): Promise<EventRow[]>;
}

const STATUSES: readonly SessionStatus[] = ["active", "revoked", "expired", "not_found"];

/** {@link AccountQueries} over a postgres.js client. */
export function accountQueries(sql: Sql): AccountQueries {
  return {
    recordClerkRevokeFailed: (sessionId, ip, userAgent) =>
      run(async () => {
        await sql`
          select sessionguard.record_clerk_revoke_failed(${sessionId}::uuid, ${ip}::inet, ${userAgent})`;
      }),

    sessionStatus: (sessionId, userId, now) =>
      run(async () => {
        const [row] = await sql`
          select sessionguard.session_status(${sessionId}::uuid, ${userId}, ${now}::timestamptz) as status`;
        if (!STATUSES.includes(row.status)) throw new Error(`session_status answered ${row.status}`);
        return row.status;
      }),

    revokeSession: (userId, sessionId, reason, now) =>
      run(async () => {
        const [row] = await sql`
          select sessionguard.revoke_session(${userId}, ${sessionId}::uuid, ${reason}, ${now}::timestamptz) as ok`;
        return row.ok === true;
      }),

    revokeOtherSessions: (userId, keepSessionId, now) =>
      run(async () => {
        const [row] = await sql`
          select sessionguard.revoke_other_sessions(${userId}, ${keepSessionId}::uuid, ${now}::timestamptz) as n`;
        return Number(row.n);
      }),

    revokeUserSessions: (userId, reason, now) =>
      run(async () => {
        const [row] = await sql`
          select sessionguard.revoke_user_sessions(${userId}, ${reason}, ${now}::timestamptz) as n`;
        return Number(row.n);
      }),

    listSessions: (userId, now) =>
      run(async () => {
        const rows = await sql`
          select id, device_name, user_agent, host(ip) as ip, created_at, last_active_at, expires_at
          from sessionguard.list_sessions(${userId}, ${now}::timestamptz)`;
        return rows.map((row) => ({
          id: row.id,
          deviceName: row.device_name,
          userAgent: row.user_agent,
          ip: row.ip,
          createdAt: row.created_at,
          lastActiveAt: row.last_active_at,
          expiresAt: row.expires_at,
        }));
      }),

    listEvents: (userId, limit) =>
      run(async () => {
        const rows = await sql`
          select id::text as id, type, session_id, created_at, host(ip) as ip, user_agent, description
          from sessionguard.list_events(${userId}, ${limit}::integer)`;
        return rows.map((row) => ({
          id: toInt(row.id),
          type: row.type,
          sessionId: row.session_id,
          createdAt: row.created_at,
          ip: row.ip,
          userAgent: row.user_agent,
          description: row.description,
        }));
      }),
  };
}
