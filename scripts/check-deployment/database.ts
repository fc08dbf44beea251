/**
 * With a database URL: the migrations are applied and sessionguard's schema is locked
 * down as the migrations leave it (SPEC P11): RLS on every table, no table writable by
 * anon or authenticated, nothing readable by anon, every security-definer function
 * with a fixed search_path and not executable by public, no function of the schema
 * executable by anon or authenticated beyond those the migrations grant them (the RLS
 * helpers), and those helpers callable by authenticated.
 *
 * A database that cannot be reached (or refuses the login) is said to be so, with its
 * host and port and never the connection string (it holds the password); the other
 * checks are then skipped rather than reported as missing migrations.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import postgres from "postgres";
import { fail, type Finding, pass, skip } from "./report.ts";

/** Driver codes and SQLSTATEs that mean "could not get a session", each with what to check. */
const CANNOT_CONNECT: Readonly<Record<string, string>> = {
  ECONNREFUSED:
    "nothing listens there: is the database running (npm start, supabase start), and is the port right?",
  ENOTFOUND: "the host name does not resolve: copy the string from the project's Connect dialog",
  EAI_AGAIN: "the host name does not resolve: check DNS and your network",
  ETIMEDOUT:
    "no answer: a firewall, network restrictions, or an IPv6-only direct host from an IPv4 network (use the session pooler's string)",
  EHOSTUNREACH:
    "no route to the host: an IPv6-only direct host from an IPv4 network? Use the session pooler's string",
  ENETUNREACH:
    "no route to the host: an IPv6-only direct host from an IPv4 network? Use the session pooler's string",
  CONNECT_TIMEOUT:
    "no answer: a firewall, network restrictions, or an IPv6-only direct host from an IPv4 network (use the session pooler's string)",
  ECONNRESET: "the connection was dropped: TLS or pooler settings? Try the string from the Connect dialog",
  "28P01": "the password is wrong (Database settings: reset it, and percent-encode special characters)",
  "28000": "the server refused this login (user, SSL mode or network restrictions)",
  "3D000": "that database does not exist (Supabase's is named postgres)",
};
/** Runs the database checks against `databaseUrl`. */
export async function checkDatabase(
  databaseUrl: string | undefined,
  migrationsDir: string,
  findings: Finding[],
): Promise<void> {
  if (!databaseUrl) {
    findings.push(skip("migrations and grants", "no --db-url-file (the project's connection string)"));
    return;
  }
  let sql: postgres.Sql;
  try {
    sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 15 });
  } catch {
    findings.push(
      fail(
        "database connection",
        "the connection string is not a valid URL (not shown: it holds a password)",
        "copy it from the project's Connect dialog; percent-encode special characters in the password",
      ),
    );
    return;
  }
  try {
    try {
      await sql`select 1`;
    } catch (error) {
      const code = String((error as { code?: unknown }).code ?? "");
      const why = CANNOT_CONNECT[code];
      if (why === undefined) throw error;
      const refused = code.startsWith("28") || code === "3D000"; // reached, but the login was refused
      findings.push(
        fail(
          "database connection",
          refused
            ? `${where(databaseUrl)} refused the login (${code})`
            : `cannot reach ${where(databaseUrl)} (${code})`,
          why,
        ),
      );
      findings.push(skip("migrations and grants", "no database session"));
      return;
    }
    findings.push(pass("database connection", where(databaseUrl)));

    const local = (await readdir(migrationsDir)).filter((file) => /^\d+_.*\.sql$/.test(file)).sort();
    let applied: Set<string>;
    try {
      applied = new Set(
        (await sql<{ version: string }[]>`select version from supabase_migrations.schema_migrations`).map((
          row,
        ) => row.version),
      );
    } catch (error) {
      if ((error as { code?: unknown }).code !== "42P01") throw error;
      applied = new Set(); // undefined_table: the Supabase CLI never pushed to this database
    }
    const missing = local.filter((file) => !applied.has(file.split("_")[0]!));
    findings.push(
      missing.length === 0 ? pass("migrations applied", `${local.length} of ${local.length}`) : fail(
        "migrations applied",
        applied.size === 0
          ? `none of ${local.length} (no migration history: nothing was pushed with the Supabase CLI)`
          : `missing ${missing.join(", ")}`,
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

    await checkFunctionGrants(sql, migrationsDir, findings);

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
        `${String((error as { code?: unknown }).code ?? "")} ${(error as Error).message}`.trim(),
        "check the connection string in --db-url-file (the one from the project's Connect dialog)",
      ),
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Every function of schema sessionguard that anon or authenticated (directly or through
 * public) may execute must be one the migrations grant them; any other grant, explicit
 * or by default privileges, opens an internal function to every signed-in user.
 */
async function checkFunctionGrants(sql: postgres.Sql, migrationsDir: string, findings: Finding[]) {
  const title = "no internal function callable by anon or authenticated";
  const documented = await grantedToClients(migrationsDir);
  const rows = await sql<{ name: string; roles: string }[]>`
    select p.oid::regprocedure::text as name,
           concat_ws(', ',
             case when has_function_privilege('anon', p.oid, 'execute') then 'anon' end,
             case when has_function_privilege('authenticated', p.oid, 'execute') then 'authenticated' end)
             as roles
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'sessionguard'
      and (has_function_privilege('anon', p.oid, 'execute')
        or has_function_privilege('authenticated', p.oid, 'execute'))
      and p.oid <> all (
        select to_regprocedure(signature)::oid from unnest(${documented}::text[]) as signature
        where to_regprocedure(signature) is not null)
    order by 1`;
  findings.push(
    rows.length === 0 ? pass(title, `only the ${documented.length} the migrations grant`) : fail(
      title,
      rows.map((row) => `${row.name} (${row.roles})`).join(", "),
      `revoke execute on function <each> from public, anon, authenticated; the migrations grant clients only ${
        documented.join(", ")
      }`,
    ),
  );
}

/** The function signatures the migrations grant execute on to anon, authenticated or public. */
async function grantedToClients(migrationsDir: string): Promise<string[]> {
  const signatures: string[] = [];
  for (const file of (await readdir(migrationsDir)).filter((name) => name.endsWith(".sql")).sort()) {
    const text = (await readFile(path.join(migrationsDir, file), "utf8")).replace(/--.*$/gm, "");
    for (
      const [, list, roles] of text.matchAll(/grant\s+execute\s+on\s+function\s+([\s\S]*?)\s+to\s+([^;]+);/gi)
    ) {
      if (!/\b(anon|authenticated|public)\b/i.test(roles!)) continue;
      signatures.push(...list!.split(/(?<=\))\s*,\s*/).map((signature) => signature.trim()));
    }
  }
  return signatures;
}

/** `host:port` of a connection string, never its user or password. */
function where(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}:${url.port || "5432"}`;
  } catch {
    return "the database";
  }
}

/** The repository's migrations folder. */
export function migrationsDir(root: string): string {
  return path.join(root, "supabase", "migrations");
}
