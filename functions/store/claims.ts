/**
 * The store's query of `POST /claims`: a fresh Clerk token's organization and
 * verification applied to its session, one round trip to
 * `sessionguard.update_session_claims` (migration `*_claims_updates_and_limits.sql`),
 * which decides under the session's row lock; and the two conversions of a
 * permission list, which the pool cannot send or read as an array (database.ts
 * `fetch_types: false`), so it travels as JSON.
 */
import type { ClerkSessionClaims, OrgClaims } from "../clerk-claims.ts";
import { run, type Sql } from "./database.ts";

/** What `update_session_claims` decided. */
export type ClaimsResult = "updated" | "unchanged" | "mismatch" | "stale" | "revoked" | "expired" | "not_found";

/** The claims update of `/claims`. */
export interface ClaimsQueries {
  /**
   * Applies a Clerk token's claims to the session, when the token is of the session's
   * own Clerk session, user and impersonator and not older than the last one applied.
   */
  updateSessionClaims(input: {
    sessionId: string;
    userId: string;
    clerkSessionId: string;
    actorId: string | null;
    claims: ClerkSessionClaims;
    claimsIssuedAt: Date;
    ip: string | null;
    userAgent: string | null;
    now: Date;
  }): Promise<{ result: ClaimsResult; expiresAt: Date | null; dpopJkt: string | null; org: OrgClaims | null }>;
}

const RESULTS: readonly ClaimsResult[] = ["updated", "unchanged", "mismatch", "stale", "revoked", "expired", "not_found"];

/** {@link ClaimsQueries} over a postgres.js client. */
export function claimsQueries(sql: Sql): ClaimsQueries {
  return {
    updateSessionClaims: (input) =>
      run(async () => {
        const org = input.claims.org;
        const [row] = await sql`
          select result, expires_at, dpop_jkt, org_id, org_role, org_slug,
                 to_jsonb(org_permissions) as org_permissions
          from sessionguard.update_session_claims(
            p_session_id => ${input.sessionId}::uuid, p_user_id => ${input.userId},
            p_clerk_session_id => ${input.clerkSessionId},
            p_claims_issued_at => ${input.claimsIssuedAt}::timestamptz,
            p_actor_id => ${input.actorId}, p_org_id => ${org?.id ?? null},
            p_org_role => ${org?.role ?? null}, p_org_slug => ${org?.slug ?? null},
            p_org_permissions => (select array_agg(e) from jsonb_array_elements_text(${permissionsJson(org)}::text::jsonb) e),
            p_verified_at => ${input.claims.verifiedAt}::timestamptz,
            p_ip => ${input.ip}::inet, p_user_agent => ${input.userAgent},
            p_now => ${input.now}::timestamptz)`;
        if (!row || !RESULTS.includes(row.result)) {
          throw new Error(`update_session_claims answered ${JSON.stringify(row?.result)}`);
        }
        return {
          result: row.result,
          expiresAt: row.expires_at,
          dpopJkt: row.dpop_jkt,
          org: row.org_id === null
            ? null
            : { id: row.org_id, role: row.org_role, slug: row.org_slug, permissions: jsonList(row.org_permissions) },
        };
      }),
  };
}

/** An organization's permissions (or a list of them) as the JSON text the queries unpack, or null. */
export function permissionsJson(
  org: Pick<OrgClaims, "permissions"> | readonly string[] | null | undefined,
): string | null {
  if (org === null || org === undefined) return null;
  return JSON.stringify(Array.isArray(org) ? org : (org as Pick<OrgClaims, "permissions">).permissions);
}

/** A `to_jsonb(text[])` column as a list (null: empty). */
export function jsonList(value: unknown): string[] {
  const list = typeof value === "string" ? JSON.parse(value) : value;
  return Array.isArray(list) ? list.map(String) : [];
}
