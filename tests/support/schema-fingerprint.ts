/**
 * What a database's schema is, as sorted text lines: every schema, relation, column,
 * constraint, index, trigger, policy, function (its full definition), type, comment,
 * privilege, publication and extension outside PostgreSQL's own schemas, plus each
 * table's rows (a count and a digest). Two databases with equal fingerprints answer every
 * query, policy and grant alike; the migration-history test compares them.
 *
 * Object ids are left out (they differ between databases), and so is the CLI's own
 * history table, whose rows differ by design (statements, names).
 */
import type postgres from "postgres";

const SKIP = `('pg_catalog', 'information_schema', 'pg_toast', 'supabase_migrations')`;

const QUERIES: Record<string, string> = {
  schema: `
    select n.nspname, pg_catalog.pg_get_userbyid(n.nspowner), n.nspacl::text,
           pg_catalog.obj_description(n.oid, 'pg_namespace')
    from pg_catalog.pg_namespace n
    where n.nspname not in ${SKIP} and n.nspname not like 'pg_temp_%' and n.nspname not like 'pg_toast_temp_%'`,
  relation: `
    select n.nspname, c.relname, c.relkind, pg_catalog.pg_get_userbyid(c.relowner), c.relacl::text,
           c.relrowsecurity, c.relforcerowsecurity, c.reloptions::text, c.relpersistence,
           pg_catalog.obj_description(c.oid, 'pg_class'),
           case when c.relkind in ('v', 'm') then pg_catalog.pg_get_viewdef(c.oid) end
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname not in ${SKIP} and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f', 'c')`,
  column: `
    select n.nspname, c.relname, a.attname, a.attnum, pg_catalog.format_type(a.atttypid, a.atttypmod),
           a.attnotnull, a.attidentity, a.attgenerated, pg_catalog.pg_get_expr(d.adbin, d.adrelid),
           a.attacl::text, pg_catalog.col_description(c.oid, a.attnum), a.attcollation
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where n.nspname not in ${SKIP} and a.attnum > 0 and not a.attisdropped
      and c.relkind in ('r', 'p', 'v', 'm', 'f', 'c')`,
  constraint: `
    select n.nspname, coalesce(c.relname, t.typname), k.conname, pg_catalog.pg_get_constraintdef(k.oid),
           k.condeferrable, k.condeferred, pg_catalog.obj_description(k.oid, 'pg_constraint')
    from pg_catalog.pg_constraint k
    join pg_catalog.pg_namespace n on n.oid = k.connamespace
    left join pg_catalog.pg_class c on c.oid = k.conrelid
    left join pg_catalog.pg_type t on t.oid = k.contypid
    where n.nspname not in ${SKIP}`,
  index: `
    select n.nspname, c.relname, pg_catalog.pg_get_indexdef(i.indexrelid)
    from pg_catalog.pg_index i
    join pg_catalog.pg_class c on c.oid = i.indexrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname not in ${SKIP}`,
  trigger: `
    select n.nspname, c.relname, t.tgname, pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled,
           pg_catalog.obj_description(t.oid, 'pg_trigger')
    from pg_catalog.pg_trigger t
    join pg_catalog.pg_class c on c.oid = t.tgrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname not in ${SKIP} and not t.tgisinternal`,
  policy: `
    select schemaname, tablename, policyname, permissive, roles::text, cmd, qual, with_check
    from pg_catalog.pg_policies
    where schemaname not in ${SKIP}`,
  function: `
    select n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid), p.prokind,
           case when p.prokind in ('f', 'p') then pg_catalog.pg_get_functiondef(p.oid) end,
           pg_catalog.pg_get_userbyid(p.proowner), p.proacl::text,
           pg_catalog.obj_description(p.oid, 'pg_proc')
    from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname not in ${SKIP}`,
  type: `
    select n.nspname, t.typname, t.typtype, pg_catalog.format_type(t.typbasetype, t.typtypmod),
           t.typnotnull, t.typdefault, t.typacl::text, pg_catalog.obj_description(t.oid, 'pg_type'),
           (select string_agg(e.enumlabel, ',' order by e.enumsortorder)
            from pg_catalog.pg_enum e where e.enumtypid = t.oid)
    from pg_catalog.pg_type t join pg_catalog.pg_namespace n on n.oid = t.typnamespace
    where n.nspname not in ${SKIP} and t.typtype in ('d', 'e', 'r', 'm')`,
  default_acl: `
    select pg_catalog.pg_get_userbyid(d.defaclrole), coalesce(n.nspname, ''), d.defaclobjtype, d.defaclacl::text
    from pg_catalog.pg_default_acl d left join pg_catalog.pg_namespace n on n.oid = d.defaclnamespace`,
  publication: `
    select p.pubname, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate,
           (select string_agg(r.schemaname || '.' || r.tablename, ',' order by r.schemaname, r.tablename)
            from pg_catalog.pg_publication_tables r where r.pubname = p.pubname)
    from pg_catalog.pg_publication p`,
  extension: `
    select e.extname, e.extversion, n.nspname
    from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace`,
  event_trigger: `
    select evtname, evtevent, evtfoid::regproc::text, evtenabled, evttags::text
    from pg_catalog.pg_event_trigger`,
};

/** The schema of the database `sql` is connected to, one sorted line per object. */
export async function schemaFingerprint(sql: postgres.Sql): Promise<string[]> {
  const lines: string[] = [];
  for (const [kind, query] of Object.entries(QUERIES)) {
    const rows = await sql.unsafe(query).values();
    for (const row of rows) lines.push(`${kind}: ${JSON.stringify(row)}`);
  }
  // Rows a migration wrote (seed data, settings tables).
  const tables = await sql.unsafe(`
    select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname not in ${SKIP} and c.relkind in ('r', 'p')`);
  for (const { name } of tables) {
    const [row] = await sql.unsafe(
      `select count(*)::text as n, md5(coalesce(string_agg(t::text, chr(10) order by t::text), '')) as digest
       from ${name} t`,
    );
    lines.push(`rows: ${name} ${row.n} ${row.digest}`);
  }
  return lines.sort();
}
