/**
 * The store's queries of the `clerk-webhook` function: one verified Clerk event
 * applied once per delivery id, in one round trip. Session and user events go
 * to `sessionguard.apply_clerk_event` (migration `*_clerk_lifecycle.sql`),
 * organization and membership events to `sessionguard.apply_clerk_org_event`
 * (`*_claims_updates_and_limits.sql`); each claims the `svix-id` first, so a
 * replay answers `duplicate` and changes nothing.
 */
import { permissionsJson } from "./claims.ts";
import { run, type Sql } from "./database.ts";

/** Clerk's organization events that change live sessions (P15). */
export const ORG_EVENTS: ReadonlySet<string> = new Set([
  "organizationMembership.updated",
  "organizationMembership.deleted",
  "organization.deleted",
]);

/** One verified Clerk event, as the database takes it. */
export interface ClerkEvent {
  /** The `svix-id` header: the same for every retry of one delivery. */
  readonly deliveryId: string;
  readonly type: string;
  readonly clerkSessionId: string | null;
  readonly userId: string | null;
  /** For organization events: the organization, and the membership's new role and permissions. */
  readonly orgId?: string | null;
  readonly orgRole?: string | null;
  readonly orgPermissions?: readonly string[] | null;
  /** When Clerk says the event happened (the envelope's `timestamp`), if it says. */
  readonly occurredAt?: Date | null;
}

/** What the database decided about a delivery. */
export interface ClerkEventOutcome {
  readonly result: "applied" | "ignored" | "duplicate";
  /** How many sessions it revoked (session and user events). */
  readonly revoked: number;
  /** How many sessions it changed or ended (organization events). */
  readonly changed?: number;
}

/** Applies a verified event once per delivery id. */
export type ApplyClerkEvent = (event: ClerkEvent) => Promise<ClerkEventOutcome>;

const RESULTS: readonly string[] = ["applied", "ignored", "duplicate"];

/**
 * {@link ApplyClerkEvent} over a postgres.js client. `orgRemoved`
 * (`SESSION_ORG_REMOVED`) says what a removed membership or deleted organization
 * does to its sessions.
 */
export function createApplyClerkEvent(
  sql: Sql,
  options: { orgRemoved?: "clear" | "revoke" } = {},
): ApplyClerkEvent {
  return (event) =>
    run(async () => {
      if (ORG_EVENTS.has(event.type)) {
        const [row] = await sql<{ result: ClerkEventOutcome["result"]; changed: number }[]>`
          select result, changed from sessionguard.apply_clerk_org_event(
            p_delivery_id => ${event.deliveryId}, p_event_type => ${event.type},
            p_org_id => ${event.orgId ?? null}, p_user_id => ${event.userId},
            p_org_role => ${event.orgRole ?? null},
            p_org_permissions => (select array_agg(e)
              from jsonb_array_elements_text(${permissionsJson(event.orgPermissions)}::text::jsonb) e),
            p_ended_mode => ${options.orgRemoved ?? "clear"},
            p_event_at => ${event.occurredAt ?? null}::timestamptz)`;
        if (!row || !RESULTS.includes(row.result)) {
          throw new Error(`apply_clerk_org_event answered ${JSON.stringify(row)}`);
        }
        return { result: row.result, revoked: 0, changed: row.changed };
      }
      const [row] = await sql<{ result: ClerkEventOutcome["result"]; revoked: number }[]>`
        select result, revoked from sessionguard.apply_clerk_event(
          p_delivery_id => ${event.deliveryId}, p_event_type => ${event.type},
          p_clerk_session_id => ${event.clerkSessionId}, p_user_id => ${event.userId})`;
      if (!row || !RESULTS.includes(row.result)) {
        throw new Error(`apply_clerk_event answered ${JSON.stringify(row)}`);
      }
      return { result: row.result, revoked: row.revoked };
    });
}
