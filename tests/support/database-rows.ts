/** Direct looks at the test database, to check what the server did (or did not) change. */
import postgres from "postgres";
import { testDatabaseUrl } from "./context.ts";

export type Sql = postgres.Sql;

/** A client on the test database as `postgres`. */
export function openTestDb(): Sql {
  return postgres(testDatabaseUrl(), { max: 4, onnotice: () => {} });
}

export interface FamilyRow {
  id: string;
  user_id: string;
  clerk_session_id: string | null;
  generation: string;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

/** Every family of a user, oldest first. */
export async function familiesOf(sql: Sql, userId: string): Promise<FamilyRow[]> {
  return await sql<FamilyRow[]>`
    select id, user_id, clerk_session_id, generation::text as generation, revoked_at, revoked_reason
    from sessionguard.families where user_id = ${userId} order by created_at, id`;
}

/** One family by id. */
export async function family(sql: Sql, id: string): Promise<FamilyRow | undefined> {
  const [row] = await sql<FamilyRow[]>`
    select id, user_id, clerk_session_id, generation::text as generation, revoked_at, revoked_reason
    from sessionguard.families where id = ${id}`;
  return row;
}

/** A user's security events, oldest first. */
export async function eventsOf(
  sql: Sql,
  userId: string,
): Promise<{ type: string; session_id: string | null; ip: string | null; user_agent: string | null }[]> {
  return await sql`
    select type, session_id, host(ip) as ip, user_agent
    from sessionguard.events where user_id = ${userId} order by id`;
}

/** Everything stored about a user, as one comparable value. */
export async function userState(sql: Sql, userId: string): Promise<string> {
  const [row] = await sql`
    select
      (select coalesce(json_agg(f order by f.id), '[]') from sessionguard.families f where f.user_id = ${userId})::text
        as families,
      (select coalesce(json_agg(e order by e.id), '[]') from sessionguard.events e where e.user_id = ${userId})::text
        as events`;
  return `${row.families}\n${row.events}`;
}
