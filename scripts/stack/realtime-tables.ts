/**
 * Realtime's tables in the local stack's database, so `npm start` apps hear their
 * session's end on the private topic `sessionguard:<user id>` (the gateway serves the
 * stand-in at `/realtime/v1/websocket`, dev/realtime-standin.ts).
 *
 * Where realtime.messages is missing (plain Postgres), applies sql/realtime_standin.sql
 * and the example policy that lets a user's live sessions read their topic
 * (examples/surfaces/supabase/migrations/20261207120200_session_events_channel.sql), in one
 * transaction. A database where Realtime made the schema (a Supabase one) is left alone:
 * copy the example policy as a migration of your own there. SG_REALTIME=off skips it.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import postgres from "postgres";

export const SESSION_EVENTS_POLICY = path.join(
  "examples", "surfaces", "supabase", "migrations", "20261207120200_session_events_channel.sql",
);

/** Applies the stand-in where it is missing; true when it did. */
export async function applyRealtimeTables(root: string, databaseUrl: string): Promise<boolean> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    return await sql.begin(async (tx) => {
      // Two stacks on one DATABASE_URL: the second waits, then finds the table.
      await tx`select pg_catalog.pg_advisory_xact_lock(hashtext('sessionguard realtime tables'))`;
      const [row] = await tx`select pg_catalog.to_regclass('realtime.messages') is null as missing`;
      if (!row!.missing) return false;
      await tx.unsafe(await readFile(path.join(root, "sql", "realtime_standin.sql"), "utf8"));
      await tx.unsafe(await readFile(path.join(root, SESSION_EVENTS_POLICY), "utf8"));
      return true;
    });
  } finally {
    await sql.end();
  }
}
