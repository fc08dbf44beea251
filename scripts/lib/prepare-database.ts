/**
 * Preparing a Postgres server to look like a Supabase database: `sql/supabase_standin.sql`
 * (plain Postgres only), pgTAP made installable in schema `extensions`, and
 * `supabase/migrations` pushed with the Supabase CLI (`supabase db push`).
 *
 * scripts/lib/local-postgres.ts runs this after it starts a server, and re-exports it.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { repoRoot } from "./process.ts";

const run = promisify(execFile);


/** Where pgTAP's files may be: SG_PGTAP_DIR, then Debian's, Homebrew's and other PostgreSQL installs' share folders. */
const PGTAP_PLACES = [
  process.env.SG_PGTAP_DIR && path.resolve(process.env.SG_PGTAP_DIR),
  "/usr/share/postgresql/15/extension",
  "/usr/share/postgresql/*/extension",
  "/opt/homebrew/share/postgresql*/extension",
  "/usr/local/share/postgresql*/extension",
  "/usr/pgsql-*/share/extension",
];
const SUPABASE_CLI = path.join(repoRoot, "node_modules", ".bin", "supabase");

/** What prepareDatabase() did. */
export interface PrepareResult {
  /** A real Supabase database was found, so the stand-in was not applied. */
  supabase: boolean;
  /** `create extension pgtap with schema extensions` will work. */
  pgtap: boolean;
  timings: { standinMs: number; migrationsMs: number };
}

/** Whether server and CLI output is printed when the caller does not say: SG_DB_LOG=1. */
export const verboseDefault = () => process.env.SG_DB_LOG === "1";

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

/**
 * `supabase db push` of supabase/migrations to `url`, run from the repository root, or
 * from `workdir` (a folder holding its own `supabase/`) when given.
 */
export async function applyMigrations(
  url: string,
  opts: { verbose?: boolean; workdir?: string } = {},
): Promise<string> {
  const dbUrl = withSslDisabled(url);
  try {
    const { stdout, stderr } = await run(
      SUPABASE_CLI,
      ["db", "push", "--db-url", dbUrl, "--yes", "--include-all"],
      {
        cwd: opts.workdir ?? repoRoot,
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
  const source = await findPgtap();
  if (!sharedir || !existsSync(sharedir) || !source) return false;
  const target = path.join(sharedir, "extension");
  const files = (await fs.readdir(source)).filter((f) =>
    f === "pgtap.control" || /^pgtap--.*\.sql$/.test(f)
  );
  for (const f of files) {
    // Copy then rename: another test run may be doing the same at the same moment.
    const tmp = path.join(target, `.${f}.${process.pid}.tmp`);
    await fs.copyFile(path.join(source, f), tmp);
    await fs.rename(tmp, path.join(target, f));
  }
  return await available();
}

/**
 * The first of `places` (absolute; a `*` matches within one path segment, newest-looking
 * name first) that holds pgtap.control: pgTAP is plain SQL, so any install's files will do.
 */
export async function findPgtap(places: (string | undefined)[] = PGTAP_PLACES): Promise<string | undefined> {
  for (const place of places) {
    if (!place) continue;
    let dirs = [""];
    for (const part of place.split("/").filter(Boolean)) {
      const next: string[] = [];
      for (const dir of dirs) {
        if (!part.includes("*")) next.push(`${dir}/${part}`);
        else {
          const pattern = new RegExp(`^${part.replaceAll(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`);
          const names = await fs.readdir(dir || "/").catch(() => [] as string[]);
          next.push(...names.filter((n) => pattern.test(n)).sort().reverse().map((n) => `${dir}/${n}`));
        }
      }
      dirs = next;
    }
    const found = dirs.find((dir) => existsSync(path.join(dir, "pgtap.control")));
    if (found) return found;
  }
  return undefined;
}

function redact(s: string): string {
  return s.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, "$1***@");
}
