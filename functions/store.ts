/**
 * The only file that speaks SQL: one postgres.js call per operation, each a
 * single round trip to a `sessionguard.*` API function (see the migrations).
 *
 * Every decision about a family — rotate, grace retry, reuse, expiry — is
 * taken inside those functions under a row lock; this file only passes the
 * request's facts in (with the handler's clock as `p_now`) and types the
 * answer. Prepared statements follow `SESSION_DB_PREPARE`: off through
 * Supabase's transaction pooler, on for direct and session-mode connections.
 */
import postgres from "postgres";
import { ApiError } from "./errors.ts";

/** A postgres.js client. */
export type Sql = postgres.Sql<Record<string, never>>;

/** What `refresh_session` decided about a presented generation. */
export type RotateResult =
  | "rotated"
  | "grace"
  | "reused"
  | "revoked"
  | "expired"
  | "not_found"
  | "dpop_mismatch"
  | "dpop_replay"
  | "rate_limited";

/** A request budget: `count` per `seconds`. */
export interface Budget {
  readonly count: number;
  readonly seconds: number;
}

/**
 * A request counted against its subject's budget and, when `ip` is known, its
 * ip's (`ipCount` in the same window), by `count_request`, which builds the keys.
 */
export interface RequestCount {
  readonly route: "start" | "api";
  /** The Clerk user id at `/start`, the session id on access-token routes. */
  readonly subject: string;
  readonly ip: string | null;
  readonly budget: Budget;
  readonly ipCount: number;
}

/** A family's state as seen by routes authenticated with an access token. */
export type SessionStatus = "active" | "revoked" | "expired" | "not_found";

/** Why a session ends (and the event type written for it). */
export type RevokeReason = "signed_out" | "session_revoked";

/** Facts about the request that the security log records. */
export interface RequestFacts {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly now: Date;
}

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

/** Session storage, one round trip per call. */
export interface Store {
  startSession(
    input: RequestFacts & {
      userId: string;
      clerkSessionId: string;
      deviceName: string | null;
      idleTimeout: number;
      absoluteLifetime: number;
      dpopJkt: string | null;
      /** The impersonator (Clerk `act.sub`), recorded on the family and its events. */
      actorId?: string | null;
    },
  ): Promise<{ sessionId: string; generation: number; expiresAt: Date }>;
  /**
   * Rate limits, DPoP proof replay check and rotation in one round trip
   * (`refresh_session`). `rateLimit` counts per family, `ipRateLimit` per ip;
   * null skips them.
   */
  refreshSession(
    input: RequestFacts & {
      sessionId: string;
      generation: number;
      idleTimeout: number;
      reuseGrace: number;
      theftScope: "family" | "user";
      dpopJkt: string | null;
      dpopJti: string | null;
      /** Seconds the proof's jti is remembered (only with `dpopJti`). */
      dpopLifetime?: number;
      rateLimit: Budget | null;
      ipRateLimit: Budget | null;
    },
  ): Promise<{
    result: RotateResult;
    sessionId: string;
    userId: string;
    generation: number;
    expiresAt: Date;
    clerkSessionId: string | null;
    /** The device key the family is bound to, or null. */
    dpopJkt: string | null;
    retryAfter: number;
  }>;
  /**
   * Records a DPoP proof id of an access-token request; false when that key
   * already used it within `lifetime` seconds (a replayed proof).
   */
  useDpopProof(jkt: string, jti: string, lifetime: number, now: Date): Promise<boolean>;
  /** Counts one request against its budgets, in one round trip; seconds to wait, 0 when allowed. */
  countRequest(request: RequestCount, now: Date): Promise<number>;
  /** Records that ending the Clerk session after a theft failed, as a security event. */
  recordClerkRevokeFailed(sessionId: string, ip: string | null, userAgent: string | null): Promise<void>;
  sessionStatus(sessionId: string, userId: string, now: Date): Promise<SessionStatus>;
  revokeSession(userId: string, sessionId: string, reason: RevokeReason, now: Date): Promise<boolean>;
  revokeOtherSessions(userId: string, keepSessionId: string, now: Date): Promise<number>;
  revokeUserSessions(userId: string, reason: RevokeReason, now: Date): Promise<number>;
  listSessions(userId: string, now: Date): Promise<SessionRow[]>;
  listEvents(userId: string, limit: number): Promise<EventRow[]>;
}

/**
 * Opens a pool on `url`. `prepare` (default off: transaction-pooler safe) lets
 * postgres.js keep named prepared statements per connection, which saves the
 * parse and plan of every call (config.ts `preparedStatements` decides it).
 */
export function openDatabase(url: string, options: { prepare?: boolean } = {}): Sql {
  return postgres(url, {
    prepare: options.prepare ?? false,
    // No array types are read, so skip the type lookup that would cost each new connection a round trip.
    fetch_types: false,
    max: 8,
    idle_timeout: 30,
    connect_timeout: 10,
    // postgres.js's default backoff grows with every failed connection of the pool, up
    // to 20 s: after a short outage requests would hang past the client's reuse grace
    // window. Reconnect within a second instead.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2),
    onnotice: () => {},
    connection: { application_name: "sessionguard" },
  }) as unknown as Sql;
}

const ROTATE_RESULTS: readonly RotateResult[] = [
  "rotated",
  "grace",
  "reused",
  "revoked",
  "expired",
  "not_found",
  "dpop_mismatch",
  "dpop_replay",
  "rate_limited",
];
const STATUSES: readonly SessionStatus[] = ["active", "revoked", "expired", "not_found"];

/** Builds the store over a postgres.js client. */
export function createStore(sql: Sql): Store {
  return {
    startSession: (input) =>
      run(async () => {
        const [row] = await sql`
          select session_id, generation::text as generation, expires_at
          from sessionguard.start_session(
            p_user_id => ${input.userId}, p_clerk_session_id => ${input.clerkSessionId},
            p_device_name => ${input.deviceName}, p_user_agent => ${input.userAgent},
            p_ip => ${input.ip}::inet, p_idle_timeout => ${input.idleTimeout}::integer,
            p_absolute_lifetime => ${input.absoluteLifetime}::integer,
            p_dpop_jkt => ${input.dpopJkt}, p_now => ${input.now}::timestamptz,
            p_actor_id => ${input.actorId ?? null})`;
        return { sessionId: row.session_id, generation: toInt(row.generation), expiresAt: row.expires_at };
      }),

    refreshSession: (input) =>
      run(async () => {
        const [row] = await sql`
          select result, session_id, user_id, generation::text as generation, expires_at,
                 clerk_session_id, dpop_jkt, retry_after
          from sessionguard.refresh_session(
            p_session_id => ${input.sessionId}::uuid, p_generation => ${input.generation}::bigint,
            p_ip => ${input.ip}::inet, p_user_agent => ${input.userAgent},
            p_idle_timeout => ${input.idleTimeout}::integer, p_reuse_grace => ${input.reuseGrace}::integer,
            p_theft_scope => ${input.theftScope}, p_dpop_jkt => ${input.dpopJkt},
            p_dpop_jti => ${input.dpopJti}, p_dpop_lifetime => ${input.dpopLifetime ?? 300}::integer,
            p_rate_limit => ${input.rateLimit?.count ?? null}::integer,
            p_rate_window => ${input.rateLimit?.seconds ?? 60}::integer,
            p_ip_rate_limit => ${input.ipRateLimit?.count ?? null}::integer,
            p_now => ${input.now}::timestamptz)`;
        if (!row || !ROTATE_RESULTS.includes(row.result)) {
          throw new Error(`refresh_session answered ${JSON.stringify(row?.result)}`);
        }
        return {
          result: row.result,
          sessionId: row.session_id,
          userId: row.user_id,
          generation: row.generation === null ? -1 : toInt(row.generation),
          expiresAt: row.expires_at,
          clerkSessionId: row.clerk_session_id,
          dpopJkt: row.dpop_jkt,
          retryAfter: Number(row.retry_after ?? 0),
        };
      }),

    useDpopProof: (jkt, jti, lifetime, now) =>
      run(async () => {
        const [row] = await sql`
          select sessionguard.use_dpop_proof(${jkt}, ${jti}, ${lifetime}::integer, ${now}::timestamptz) as fresh`;
        return row.fresh === true;
      }),

    countRequest: (request, now) =>
      run(async () => {
        const [row] = await sql`
          select sessionguard.count_request(
            p_route => ${request.route}, p_subject => ${request.subject}, p_ip => ${request.ip}::inet,
            p_limit => ${request.budget.count}::integer, p_ip_limit => ${request.ipCount}::integer,
            p_window => ${request.budget.seconds}::integer, p_now => ${now}::timestamptz) as wait`;
        return Number(row.wait);
      }),

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

function toInt(value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new Error(`not a safe integer: ${value}`);
  return number;
}

/** SQLSTATE classes and driver codes that mean "the database is unreachable", not "bad request". */
/*
 * Also: a statement or lock timeout (57014, 55P03) and a serialization failure or
 * deadlock (40001, 40P01) rolled the whole rotation back, so the client may retry the
 * same token; EPIPE is a write to a connection the server already closed.
 */
const UNAVAILABLE =
  /^(08|53|57P0[1-3]|57014|55P03|40001|40P01)|^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|CONNECT_TIMEOUT|CONNECTION_)/;

async function run<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "22023") {
      // The API functions reject bad arguments with invalid_parameter_value and write nothing.
      throw new ApiError("invalid_request", { detail: `database refused: ${(error as Error).message}` });
    }
    if (code === "28000") {
      // start_session refuses a Clerk session that Clerk reported ended, or a deleted user.
      throw new ApiError("invalid_token", {
        description: "The Clerk session token is missing, invalid or expired.",
        detail: `database refused: ${(error as Error).message}`,
      });
    }
    if (typeof code === "string" && UNAVAILABLE.test(code)) {
      throw new ApiError("server_error", {
        status: 503,
        detail: `database unavailable: ${code}`,
        cause: error,
      });
    }
    throw error;
  }
}
