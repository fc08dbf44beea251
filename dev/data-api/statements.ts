/**
 * LOCAL DATA API STAND-IN — not PostgREST. The SQL of each request, built the way
 * PostgREST builds it (src/PostgREST/Query/QueryBuilder.hs, Statements.hs at v14.17):
 * the main query in a CTE, the answer one `json_agg` row with the page's row count.
 *
 * Nothing from the request is ever spliced into SQL text except identifiers, and those
 * only through {@link ident} (double quotes, inner quotes doubled) after the catalog
 * confirmed the table; every value is a bind parameter, sent untyped so Postgres infers
 * its type from the column as it does for PostgREST's literals.
 */
import { PostgrestError } from "./errors.ts";
import type { Filter, OrderTerm, SelectItem, TableQuery } from "./query.ts";
import type { Relation, Routine } from "./schema.ts";

/** A statement and its bind parameters. */
export interface Statement {
  readonly text: string;
  readonly params: unknown[];
}

/** A quoted identifier. */
export function ident(name: string): string {
  if (name.includes("\0")) throw new PostgrestError(400, "PGRST100", "identifiers cannot contain NUL");
  return `"${name.replaceAll('"', '""')}"`;
}

export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

/** `select` list over `source` (null: every column). */
function selectList(select: readonly SelectItem[] | null): string {
  if (select === null) return "*";
  return select.map((item) =>
    item.alias === null ? ident(item.column) : `${ident(item.column)} as ${ident(item.alias)}`
  )
    .join(", ");
}

/** WHERE conditions; `qualifier` prefixes column names (UPDATE ... FROM needs it). */
function whereClause(filters: readonly Filter[], params: unknown[], qualifier = ""): string {
  if (filters.length === 0) return "";
  const bind = (value: string) => {
    params.push(value);
    return `$${params.length}`;
  };
  const conditions = filters.map((filter) => {
    const column = `${qualifier}${ident(filter.column)}`;
    const operators = { eq: "=", neq: "<>", gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;
    let condition: string;
    if (filter.operator === "in") {
      condition = filter.values.length === 0
        ? "false"
        : `${column} in (${filter.values.map(bind).join(", ")})`;
    } else if (filter.operator === "is") {
      const keyword = {
        null: "null",
        not_null: "not null",
        true: "true",
        false: "false",
        unknown: "unknown",
      };
      condition = `${column} is ${keyword[filter.values[0] as keyof typeof keyword]}`;
    } else {
      condition = `${column} ${operators[filter.operator]} ${bind(filter.values[0]!)}`;
    }
    return filter.negated ? `not (${condition})` : condition;
  });
  return ` where ${conditions.join(" and ")}`;
}

function orderClause(order: readonly OrderTerm[]): string {
  if (order.length === 0) return "";
  return ` order by ${
    order.map((term) =>
      `${ident(term.column)} ${term.descending ? "desc" : "asc"}${term.nulls ? ` nulls ${term.nulls}` : ""}`
    ).join(", ")
  }`;
}

/** Wraps rows of `source` as PostgREST's answer: `body` (JSON text) and `page_total`. */
function answer(
  source: string,
  select: readonly SelectItem[] | null,
  stripNulls: boolean,
  extra = "",
): string {
  const body = `coalesce(json_agg(_postgrest_t), '[]')`;
  return `select ${stripNulls ? `json_strip_nulls(${body})` : body}::text as body, ` +
    `count(_postgrest_t)::int as page_total${extra} from (select ${
      selectList(select)
    } from ${source}) _postgrest_t`;
}

/** GET: the page, and with `count=exact` the total (Statements.hs `createReadStatement`). */
export function readStatement(
  relation: Relation,
  query: TableQuery,
  options: { count: boolean; stripNulls: boolean },
): Statement {
  const params: unknown[] = [];
  const table = qualified(relation.schema, relation.name);
  const where = whereClause(query.filters, params);
  const limit = query.limit === null ? "" : ` limit ${query.limit}`;
  const offset = query.offset === 0 ? "" : ` offset ${query.offset}`;
  const source = `(select * from ${table}${where}${orderClause(query.order)}${limit}${offset}) pgrst_source`;
  const total = options.count ? `, (select count(*) from ${table}${where})::int as total` : "";
  return { text: answer(source, query.select, options.stripNulls, total), params };
}

/** Rows the body names, as `json_populate_recordset` reads them (QueryBuilder.hs `mutateRequestToQuery`). */
export function insertStatement(
  relation: Relation,
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  representation: { select: readonly SelectItem[] | null; stripNulls: boolean } | null,
): Statement {
  const table = qualified(relation.schema, relation.name);
  const list = columns.map(ident).join(", ");
  const insert = columns.length === 0
    ? `insert into ${table} default values`
    : `insert into ${table} (${list}) select ${list} from json_populate_recordset(null::${table}, $1::json)`;
  // The JSON itself, not its text: postgres.js learns $1 is json and serializes it once.
  const params = columns.length === 0 ? [] : [rows];
  return mutation(insert, table, representation, params);
}

/** PATCH: the body's columns from `json_populate_record`, rows chosen by the filters. */
export function updateStatement(
  relation: Relation,
  body: Record<string, unknown>,
  filters: readonly Filter[],
  representation: { select: readonly SelectItem[] | null; stripNulls: boolean } | null,
): Statement {
  const table = qualified(relation.schema, relation.name);
  const params: unknown[] = [body];
  const set = Object.keys(body).map((column) => `${ident(column)} = pgrst_body.${ident(column)}`).join(", ");
  const where = whereClause(filters, params, `${table}.`);
  const update =
    `update ${table} set ${set} from (select * from json_populate_record(null::${table}, $1::json)) pgrst_body${where}`;
  return mutation(update, table, representation, params);
}

export function deleteStatement(
  relation: Relation,
  filters: readonly Filter[],
  representation: { select: readonly SelectItem[] | null; stripNulls: boolean } | null,
): Statement {
  const table = qualified(relation.schema, relation.name);
  const params: unknown[] = [];
  const where = whereClause(filters, params);
  return mutation(`delete from ${table}${where}`, table, representation, params);
}

/**
 * With `return=representation` the statement returns its rows through a CTE; without,
 * it returns nothing, so SELECT policies do not apply to them (tables_views.rst, "Insert":
 * return=minimal when the role may insert but not read).
 */
function mutation(
  statement: string,
  table: string,
  representation: { select: readonly SelectItem[] | null; stripNulls: boolean } | null,
  params: unknown[],
): Statement {
  if (representation === null) return { text: statement, params };
  const text = `with pgrst_source as (${statement} returning ${table}.*) ` +
    answer("pgrst_source", representation.select, representation.stripNulls);
  return { text, params };
}

/**
 * POST /rpc/<fn>: named arguments typed by the function's own declaration through
 * `json_to_record` (Statements.hs `callPlanToQuery`), the result as JSON: a set as an
 * array, a single value as itself, void as nothing.
 */
export function callStatement(routine: Routine, args: Record<string, unknown>): Statement {
  const sent = routine.args.filter((arg) => arg.name in args);
  const fn = qualified(routine.schema, routine.name);
  const call = `${fn}(${
    sent.map((arg) => `${ident(arg.name)} := pgrst_args.${ident(arg.name)}`).join(", ")
  })`;
  const from = sent.length === 0
    ? ""
    : ` from json_to_record($1::json) as pgrst_args(${
      sent.map((arg) => `${ident(arg.name)} ${arg.type}`).join(", ")
    })`;
  const params = sent.length === 0 ? [] : [args];
  if (routine.returnsVoid) return { text: `select ${call}${from}`, params };
  if (routine.returnsSet) {
    const source = sent.length === 0 ? `${call} pgrst_row` : `${from.slice(6)}, lateral ${call} pgrst_row`;
    return { text: `select coalesce(json_agg(pgrst_row), '[]')::text as body from ${source}`, params };
  }
  return { text: `select to_json(${call})::text as body${from}`, params };
}
