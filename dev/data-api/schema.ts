/**
 * LOCAL DATA API STAND-IN — not PostgREST. What PostgREST's schema cache answers, read
 * from the catalog per request (the local stack is small; no reload to forget).
 *
 *   - a table or view of an exposed schema, else 404 PGRST205 "Could not find the table
 *     '<schema>.<name>' in the schema cache" (src/PostgREST/Error.hs `TableNotFound`);
 *   - a column of it, else 400 PGRST204 "Could not find the '<col>' column of '<table>' in
 *     the schema cache" (Error.hs `ColumnNotFound`);
 *   - a function by name and named arguments, else 404 PGRST202 (Error.hs `NoRpc`); the
 *     overload whose input arguments match the keys sent, defaults allowed
 *     (docs/references/api/functions.rst, "Overloaded functions");
 *   - the exposed schemas: Supabase's defaults `public, graphql_public`
 *     (supabase/cli pkg/config/templates/config.toml `[api] schemas`), chosen with
 *     Accept-Profile / Content-Profile, else 406 PGRST106 (docs/references/api/schemas.rst).
 */
import type postgres from "postgres";
import { PostgrestError } from "./errors.ts";

export const EXPOSED_SCHEMAS = ["public", "graphql_public"] as const;

export interface Relation {
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly string[];
}

export interface Routine {
  readonly schema: string;
  readonly name: string;
  /** Input arguments in order, with their types as format_type() spells them. */
  readonly args: ReadonlyArray<{ name: string; type: string }>;
  readonly returnsSet: boolean;
  readonly returnsVoid: boolean;
  /** stable or immutable: PostgREST runs it in a read-only transaction. */
  readonly readOnly: boolean;
}

/** The schema a request names (Accept-Profile for reads, Content-Profile for writes). */
export function requestSchema(profile: string | null): string {
  const schema = profile ?? EXPOSED_SCHEMAS[0];
  if (!(EXPOSED_SCHEMAS as readonly string[]).includes(schema)) {
    throw new PostgrestError(
      406,
      "PGRST106",
      `Invalid schema: ${schema}`,
      null,
      `Only the following schemas are exposed: ${EXPOSED_SCHEMAS.join(", ")}`,
    );
  }
  return schema;
}

export async function findRelation(sql: postgres.Sql, schema: string, name: string): Promise<Relation> {
  const rows = await sql<{ columns: string[] }[]>`
    select array(
      select a.attname::text from pg_catalog.pg_attribute a
      where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      order by a.attnum) as columns
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = ${name} and c.relkind in ('r', 'v', 'm', 'f', 'p')`;
  if (rows.length === 0) {
    throw new PostgrestError(
      404,
      "PGRST205",
      `Could not find the table '${schema}.${name}' in the schema cache`,
    );
  }
  return { schema, name, columns: rows[0]!.columns };
}

/** PGRST204 for the first of `columns` the relation lacks. */
export function requireColumns(relation: Relation, columns: readonly string[]): void {
  const missing = columns.find((column) => !relation.columns.includes(column));
  if (missing !== undefined) {
    throw new PostgrestError(
      400,
      "PGRST204",
      `Could not find the '${missing}' column of '${relation.name}' in the schema cache`,
    );
  }
}

export async function findRoutine(
  sql: postgres.Sql,
  schema: string,
  name: string,
  keys: readonly string[],
): Promise<Routine> {
  const rows = await sql<
    {
      args: { name: string; type: string }[];
      defaults: number;
      retset: boolean;
      void: boolean;
      volatility: string;
    }[]
  >`
    select
      coalesce((
        select json_agg(json_build_object('name', coalesce(p.proargnames[i], ''), 'type', pg_catalog.format_type(t, null)) order by i)
        from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality as a(t, i)
        where coalesce(p.proargmodes[i], 'i') in ('i', 'b', 'v')), '[]') as args,
      p.pronargdefaults::int as defaults,
      p.proretset as retset,
      p.prorettype = 'pg_catalog.void'::pg_catalog.regtype as void,
      p.provolatile::text as volatility
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = ${schema} and p.proname = ${name} and p.prokind = 'f'`;
  const wanted = new Set(keys);
  const matches = rows.filter((row) => {
    const names = row.args.map((arg) => arg.name);
    const required = names.slice(0, names.length - row.defaults);
    return keys.every((key) => names.includes(key)) && required.every((arg) => wanted.has(arg));
  });
  if (matches.length !== 1) {
    const list = keys.join(", ");
    const status = matches.length > 1 ? 300 : 404;
    throw new PostgrestError(
      status,
      matches.length > 1 ? "PGRST203" : "PGRST202",
      matches.length > 1
        ? `Could not choose the best candidate function between: ${schema}.${name}`
        : `Could not find the function ${schema}.${name}${
          keys.length === 0 ? " without parameters" : `(${list})`
        } in the schema cache`,
      matches.length > 1
        ? null
        : `Searched for the function ${schema}.${name}${
          keys.length === 0 ? " without parameters" : ` with parameter${keys.length > 1 ? "s" : ""} ${list}`
        } or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
    );
  }
  const row = matches[0]!;
  return {
    schema,
    name,
    args: row.args,
    returnsSet: row.retset,
    returnsVoid: row.void,
    readOnly: row.volatility !== "v",
  };
}
