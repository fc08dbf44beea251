/**
 * How the functions talk to Postgres: whether postgres.js prepares statements
 * (`SESSION_DB_PREPARE`).
 */

/**
 * `SESSION_DB_PREPARE`: `off` (the default) and `on` as said; `auto` turns prepared
 * statements on only for a URL that Supabase documents as a direct or session-mode
 * connection, off for anything else.
 *
 * Why off by default: a transaction pooler may run consecutive statements on
 * different server connections, and a named prepared statement then fails on the
 * next one (every refresh answers 500). Nothing in the URL or the connection
 * handshake says which pool mode a server runs in (a pooler answers the startup
 * like Postgres, on whatever port it was given), so a port rule is a guess that a
 * transaction pooler on 5432 defeats. Off costs a parse and plan per call; on is
 * for whoever knows their connection is direct (BENCHMARKS.md measures both).
 *
 * `auto` trusts only Supabase's documented hosts ("Connect to your database",
 * supabase.com/docs/guides/database/connecting-to-postgres): the direct
 * `db.<ref>.supabase.co` on 5432 and the shared pooler (Supavisor)
 * `*.pooler.supabase.com` on 5432, which is its session mode; 6543 on either is a
 * transaction pooler, and `?pgbouncer=true` says so too. A URL that cannot be read
 * is off.
 */
export function preparedStatements(setting: "auto" | "on" | "off", databaseUrl: string): boolean {
  if (setting !== "auto") return setting === "on";
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return false;
  }
  if (url.searchParams.get("pgbouncer") === "true") return false;
  if (url.port !== "" && url.port !== "5432") return false;
  return /^db\.[a-z0-9]+\.supabase\.co$/.test(url.hostname) || /\.pooler\.supabase\.com$/.test(url.hostname);
}
