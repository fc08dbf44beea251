/**
 * The bench's own Postgres: a throwaway server from the test harness, switched
 * back to durable commits (fsync, synchronous_commit and full-page writes on),
 * because the database scenario measures against the durable-commit limit.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import postgres from "postgres";
import { startDatabase } from "../../scripts/lib/local-postgres.ts";
import { repoRoot } from "../../scripts/lib/process.ts";
import { parentPid } from "./proc.ts";

export type Sql = postgres.Sql;

export interface BenchDatabase {
  readonly url: string;
  readonly version: string;
  /** The postmaster, for CPU accounting of all backends. */
  readonly postmasterPid: number;
  /** Settings that decide commit cost, as the server reports them. */
  readonly settings: Readonly<Record<string, string>>;
  /** An admin client (superuser) for setup and measurements. */
  readonly sql: Sql;
  stop(): Promise<void>;
}

const DURABLE = { fsync: "on", synchronous_commit: "on", full_page_writes: "on" } as const;
const REPORTED = [
  "fsync",
  "synchronous_commit",
  "full_page_writes",
  "wal_sync_method",
  "shared_buffers",
  "max_connections",
  "autovacuum",
  "wal_level",
  "max_wal_size",
];

/** Starts a prepared throwaway server (stand-in and migrations applied) with durable commits. */
export async function startBenchDatabase(
  version: 15 | 17,
  sharedBuffers: string,
): Promise<BenchDatabase> {
  // The bench owns its server: never fill a database the caller pointed us at.
  delete process.env.DATABASE_URL;
  const db = await startDatabase({ version, name: "bench", ephemeral: true, sharedBuffers });
  const sql = postgres(db.url, { max: 4, onnotice: () => {}, connection: { application_name: "bench" } });
  try {
    // The harness turns durability off for throwaway servers; the bench needs it on.
    for (const [name, value] of Object.entries(DURABLE)) {
      await sql.unsafe(`alter system set ${name} = '${value}'`);
    }
    await sql`select pg_reload_conf()`;
    let settings: Record<string, string> = {};
    for (let attempt = 0; attempt < 50; attempt++) {
      settings = await readSettings(sql);
      if (Object.entries(DURABLE).every(([name, value]) => settings[name] === value)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const [name, value] of Object.entries(DURABLE)) {
      if (settings[name] !== value) {
        throw new Error(`could not set ${name} = ${value} (it is ${settings[name]})`);
      }
    }
    const [{ pid, server_version }] =
      await sql`select pg_backend_pid() as pid, current_setting('server_version') as server_version`;
    const schema = await readFile(path.join(repoRoot, "bench", "sql", "bench-schema.sql"), "utf8");
    await sql.unsafe(schema);
    return {
      url: db.url,
      version: server_version as string,
      postmasterPid: parentPid(pid as number),
      settings,
      sql,
      async stop() {
        await sql.end({ timeout: 5 });
        await db.stop();
      },
    };
  } catch (error) {
    await sql.end({ timeout: 5 }).catch(() => {});
    await db.stop();
    throw error;
  }
}

async function readSettings(sql: Sql): Promise<Record<string, string>> {
  const rows = await sql<{ name: string; value: string }[]>`
    select name, current_setting(name) as value from pg_catalog.pg_settings where name = any(${REPORTED})`;
  return Object.fromEntries(rows.map((row) => [row.name, row.value]));
}

/** Empties the session tables so a scenario measures only its own rows. */
export async function resetSessions(sql: Sql): Promise<void> {
  await sql`truncate sessionguard.families, sessionguard.events, bench.fam`;
  await sql`vacuum (analyze) sessionguard.families`;
  await sql`checkpoint`;
}

/**
 * Starts `count` families through the real `sessionguard.start_session` and
 * numbers them 1..count in `bench.fam` (the pgbench scripts pick families by number).
 */
export async function createFamilies(sql: Sql, count: number, prefix: string): Promise<void> {
  const chunk = 5_000;
  for (let from = 1; from <= count; from += chunk) {
    const to = Math.min(count, from + chunk - 1);
    await sql`
      insert into bench.fam (n, id)
      select g, s.session_id
      from generate_series(${from}::int, ${to}::int) as g
      cross join lateral sessionguard.start_session(
        p_user_id => ${prefix} || g, p_clerk_session_id => 'sess_' || ${prefix} || g,
        p_device_name => 'bench', p_user_agent => 'bench', p_ip => '127.0.0.1'::inet,
        p_idle_timeout => 604800, p_absolute_lifetime => 2592000) as s`;
  }
  await sql`analyze bench.fam`;
  await sql`analyze sessionguard.families`;
}
