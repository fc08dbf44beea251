/**
 * The store's queries of a session's life on the hot path: start, refresh (the
 * whole decision in one call), and the guards the other routes count. Each is
 * one round trip to a `sessionguard.*` function of migrations
 * `*_start_and_refresh.sql`, `*_refresh_decision.sql` (where reuse is detected,
 * under the family's row lock) and `*_rate_limits_and_dpop_proofs.sql`;
 * this file only passes the request's facts in (with the handler's clock as
 * `p_now`) and types the answer.
 */
import type { ClerkSessionClaims, OrgClaims } from "../clerk-claims.ts";
import { jsonList, permissionsJson } from "./claims.ts";
import { run, type Sql, toInt } from "./database.ts";

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
  /**
   * A caller that cannot prove the session's device key: counted in the
   * strangers' own budgets, never the owner's (P13).
   */
  readonly stranger?: boolean;
}

/**
 * What a refresh is decided by, built once from the settings and read by
 * `refresh_session` as it is (snake_case: the SQL's names). Every key is
 * required; the SQL repeats no default.
 */
export interface RefreshPolicy {
  readonly idle_timeout: number;
  readonly reuse_grace: number;
  readonly theft_scope: "family" | "user";
  /** Seconds a DPoP proof's `jti` is remembered. */
  readonly dpop_lifetime: number;
  /** A refresh of a bound family without its key: refuse it, or also end the session. */
  readonly dpop_mismatch: "refuse" | "revoke";
  /** The family's budget; null when limits are off. */
  readonly rate_limit: Budget | null;
  /** The count per window for everything behind one ip; null when limits are off. */
  readonly ip_rate_limit: number | null;
}

/** Facts about the request that the security log records. */
export interface RequestFacts {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly now: Date;
}

/** Start, refresh and the per-request guards, one round trip per call. */
export interface RefreshQueries {
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
      /** The Clerk token's organization and verification (P15), and its `iat`. */
      claims?: ClerkSessionClaims;
      claimsIssuedAt?: Date;
      /** `SESSION_MAX_PER_USER` and its mode; null: no limit. */
      sessionLimit?: { readonly max: number; readonly mode: "revoke-oldest" | "refuse" } | null;
    },
  ): Promise<
    | { result: "started"; sessionId: string; generation: number; expiresAt: Date; claims: ClerkSessionClaims }
    | { result: "limit_reached" }
  >;
  /**
   * The refresh decision in one round trip (`refresh_session`, under the
   * family's row lock): reuse detection first, then budgets, the proof's replay
   * check and the rotation or grace answer. `policy` goes to the database as it is.
   */
  refreshSession(
    input: RequestFacts & {
      sessionId: string;
      generation: number;
      policy: RefreshPolicy;
      /** The key of the request's verified DPoP proof and its `jti`, or null without one. */
      dpopJkt: string | null;
      dpopJti: string | null;
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
    /** With `rotated` and `grace`: the session's organization and impersonator, for the access token. */
    org: OrgClaims | null;
    actorId: string | null;
  }>;
  /**
   * Records a DPoP proof id of an access-token request; false when that key
   * already used it within `lifetime` seconds (a replayed proof).
   */
  useDpopProof(jkt: string, jti: string, lifetime: number, now: Date): Promise<boolean>;
  /** Counts one request against its budgets, in one round trip; seconds to wait, 0 when allowed. */
  countRequest(request: RequestCount, now: Date): Promise<number>;
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

/** {@link RefreshQueries} over a postgres.js client. */
export function refreshQueries(sql: Sql): RefreshQueries {
  return {
    startSession: (input) =>
      run(async () => {
        const org = input.claims?.org ?? null;
        const [row] = await sql`
          select result, session_id, generation::text as generation, expires_at,
                 org_id, org_role, org_slug, to_jsonb(org_permissions) as org_permissions
          from sessionguard.start_session_with_claims(
            p_user_id => ${input.userId}, p_clerk_session_id => ${input.clerkSessionId},
            p_device_name => ${input.deviceName}, p_user_agent => ${input.userAgent},
            p_ip => ${input.ip}::inet, p_idle_timeout => ${input.idleTimeout}::integer,
            p_absolute_lifetime => ${input.absoluteLifetime}::integer,
            p_claims_issued_at => ${input.claimsIssuedAt ?? input.now}::timestamptz,
            p_dpop_jkt => ${input.dpopJkt}, p_now => ${input.now}::timestamptz,
            p_actor_id => ${input.actorId ?? null},
            p_org_id => ${org?.id ?? null}, p_org_role => ${org?.role ?? null},
            p_org_slug => ${org?.slug ?? null}, p_org_permissions => (select array_agg(e) from jsonb_array_elements_text(${permissionsJson(org)}::text::jsonb) e),
            p_verified_at => ${input.claims?.verifiedAt ?? null}::timestamptz,
            p_max_sessions => ${input.sessionLimit?.max ?? null}::integer,
            p_limit_mode => ${input.sessionLimit?.mode ?? "revoke-oldest"})`;
        if (row.result === "limit_reached") return { result: "limit_reached" as const };
        return {
          result: "started" as const,
          sessionId: row.session_id,
          generation: toInt(row.generation),
          expiresAt: row.expires_at,
          claims: {
            org: row.org_id === null ? null : {
              id: row.org_id,
              role: row.org_role,
              slug: row.org_slug,
              permissions: jsonList(row.org_permissions),
            },
            verifiedAt: input.claims?.verifiedAt ?? null,
          },
        };
      }),

    refreshSession: (input) =>
      run(async () => {
        const [row] = await sql`
          select result, session_id, user_id, generation::text as generation, expires_at,
                 clerk_session_id, dpop_jkt, retry_after,
                 org_id, org_role, to_jsonb(org_permissions) as org_permissions, actor_id
          from sessionguard.refresh_session(
            p_session_id => ${input.sessionId}::uuid, p_generation => ${input.generation}::bigint,
            p_policy => ${sql.json(input.policy as unknown as Parameters<Sql["json"]>[0])}::jsonb,
            p_ip => ${input.ip}::inet, p_user_agent => ${input.userAgent},
            p_dpop_jkt => ${input.dpopJkt}, p_dpop_jti => ${input.dpopJti},
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
          org: row.org_id === null
            ? null
            : { id: row.org_id, role: row.org_role, slug: null, permissions: jsonList(row.org_permissions) },
          actorId: row.actor_id,
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
            p_window => ${request.budget.seconds}::integer, p_now => ${now}::timestamptz,
            p_stranger => ${request.stranger ?? false}) as wait`;
        return Number(row.wait);
      }),
  };
}
