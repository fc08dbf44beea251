/**
 * How the functions talk to Postgres: whether postgres.js prepares statements
 * (`SESSION_DB_PREPARE`).
 */

/**
 * `SESSION_DB_PREPARE`: `on` and `off` as said; `auto` turns prepared statements
 * off behind a transaction pooler, where consecutive statements may run on
 * different server connections and Supavisor does not support them, and on for
 * a direct or session-mode connection. Supabase's ports (docs, "Connect to your
 * database", supabase.com/docs/guides/database/connecting-to-postgres):
 * direct `db.<ref>.supabase.co:5432`, shared pooler (Supavisor)
 * `*.pooler.supabase.com:5432` in session mode and `:6543` in transaction mode,
 * dedicated pooler (PgBouncer) `db.<ref>.supabase.co:6543`, transaction mode.
 * `?pgbouncer=true` (the convention Prisma reads) also means a transaction
 * pooler. A URL that cannot be read is treated as pooled: off is always safe.
 */
export function preparedStatements(setting: "auto" | "on" | "off", databaseUrl: string): boolean {
  if (setting !== "auto") return setting === "on";
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return false;
  }
  if (url.port === "6543") return false;
  if (url.searchParams.get("pgbouncer") === "true") return false;
  return true;
}
