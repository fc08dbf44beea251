/**
 * With a database URL: the migrations are applied and sessionguard's schema is locked
 * down as the migrations leave it (SPEC P11): RLS on every table, no table writable by
 * anon or authenticated, nothing readable by anon, every security-definer function
 * with a fixed search_path and not executable by public, and the RLS helpers callable
 * by authenticated.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import postgres from "postgres";
import { fail, type Finding, pass, skip } from "./report.ts";

/** Runs the database checks against `databaseUrl`. */
export async function checkDatabase(
  databaseUrl: string | undefined,
  migrationsDir: string,
  findings: Finding[],
): Promise<void> {
  if (!databaseUrl) {
    findings.push(skip("migrations and grants", "no --db-url (the project's connection string)"));
    return;
  }
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 15 });
  try {
    const local = (await readdir(migrationsDir)).filter((file) => /^\d+_.*\.sql$/.test(file)).sort();
    const applied = new Set(
      (await sql<{ version: string }[]>`
        select version from supabase_migrations.schema_migrations`.catch(() => [])).map((row) => row.version),
    );
    const missing = local.filter((file) => !applied.has(file.split("_")[0]!));
    findings.push(
      missing.length === 0 ? pass("migrations applied", `${local.length} of ${local.length}`) : fail(
        "migrations applied",
        `missing ${missing.join(", ")}`,
        "supabase db push (or supabase link, then supabase db push)",
      ),
    );

    const tables = await sql<
      { name: string; rls: boolean; anon_reads: boolean; writable_by: string | null }[]
    >`
      select c.relname as name, c.relrowsecurity as rls,
             has_table_privilege('anon', c.oid, 'select') as anon_reads,
             (select string_agg(r, ', ') from unnest(array['anon', 'authenticated']) as r
               where has_table_privilege(r, c.oid, 'insert') or has_table_privilege(r, c.oid, 'update')
                  or has_table_privilege(r, c.oid, 'delete') or has_table_privilege(r, c.oid, 'truncate'))
               as writable_by
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'sessionguard' and c.relkind in ('r', 'p')
      order by 1`;
    if (tables.length === 0) {
      findings.push(fail("sessionguard tables", "schema sessionguard has no tables", "supabase db push"));
      return;
    }
    const noRls = tables.filter((table) => !table.rls).map((table) => table.name);
    const open = tables.filter((table) => table.anon_reads || table.writable_by).map((table) =>
      `${table.name} (${
        [table.anon_reads ? "anon reads" : "", table.writable_by ? `${table.writable_by} write` : ""].filter(
          Boolean,
        ).join("; ")
      })`
    );
    findings.push(
      noRls.length === 0 ? pass("RLS on every table", `${tables.length} tables`) : fail(
        "RLS on every table",
        noRls.join(", "),
        "re-apply the migrations; never disable RLS on sessionguard tables",
      ),
    );
    findings.push(
      open.length === 0 ? pass("table grants", "no writes by anon or authenticated, no reads by anon") : fail(
        "table grants",
        open.join(", "),
        "revoke those grants; the migrations grant only select on families and events to authenticated",
      ),
    );

    const functions = await sql<{ name: string; fixed_path: boolean; public_exec: boolean }[]>`
      select p.oid::regprocedure::text as name,
             coalesce(exists (select 1 from unnest(p.proconfig) as c where c like 'search_path=%'), false) as fixed_path,
             has_function_privilege('public', p.oid, 'execute') as public_exec
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'sessionguard' and p.prosecdef
      order by 1`;
    const loose = functions.filter((fn) => !fn.fixed_path || fn.public_exec).map((fn) => fn.name);
    findings.push(
      loose.length === 0
        ? pass(
          "security-definer functions",
          `${functions.length}, each with a fixed search_path, none executable by public`,
        )
        : fail(
          "security-definer functions",
          loose.join(", "),
          "re-apply the migrations: each must set search_path = '' and revoke execute from public",
        ),
    );

    const [helpers] = await sql<{ ok: boolean }[]>`
      select has_function_privilege('authenticated', 'sessionguard.session_active()', 'execute')
         and has_function_privilege('authenticated', 'sessionguard.user_id()', 'execute') as ok`;
    findings.push(
      helpers?.ok ? pass("RLS helpers callable by authenticated") : fail(
        "RLS helpers callable by authenticated",
        "session_active() or user_id() is not",
        "re-apply the migrations",
      ),
    );
  } catch (error) {
    findings.push(
      fail(
        "database",
        (error as Error).message,
        "check --db-url (the connection string from the project's Connect dialog)",
      ),
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The repository's migrations folder. */
export function migrationsDir(root: string): string {
  return path.join(root, "supabase", "migrations");
}
