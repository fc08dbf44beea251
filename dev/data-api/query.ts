/**
 * LOCAL DATA API STAND-IN — not PostgREST. The query string of a table request, parsed
 * into the subset supabase-js uses for reads and writes.
 *
 * Grammar from PostgREST v14.17 docs/references/api/tables_views.rst ("Horizontal
 * Filtering", operators table, "Ordering", "Vertical Filtering") and url_grammar.rst,
 * errors from src/PostgREST/ApiRequest/QueryParams.hs (PGRST100 "failed to parse ...").
 *
 *   select=col,alias:col,*        columns (no embedding, casts or JSON paths)
 *   <col>=[not.]<op>.<value>      eq neq gt gte lt lte, in.(a,"b,c"), is.null|not_null|true|false|unknown
 *   order=col[.asc|.desc][.nullsfirst|.nullslast],...
 *   limit=<n>&offset=<n>
 *   columns="a","b"               the insert's columns (supabase-js sends it for arrays)
 *
 * Anything else PostgREST knows (like, fts, or=, embedded filters, ...) is refused with
 * PGRST127 by name; what PostgREST itself cannot parse is PGRST100, as there.
 */
import { notImplemented, PostgrestError, queryParamError } from "./errors.ts";

export type Operator = "eq" | "neq" | "gt" | "gte" | "lt" | "lte" | "in" | "is";

export interface Filter {
  readonly column: string;
  readonly negated: boolean;
  readonly operator: Operator;
  /** One value, or the list of `in`. For `is`: null, not_null, true, false or unknown. */
  readonly values: readonly string[];
}

export interface SelectItem {
  readonly column: string;
  readonly alias: string | null;
}

export interface OrderTerm {
  readonly column: string;
  readonly descending: boolean;
  readonly nulls: "first" | "last" | null;
}

export interface TableQuery {
  /** null: `*`. */
  readonly select: readonly SelectItem[] | null;
  readonly filters: readonly Filter[];
  readonly order: readonly OrderTerm[];
  readonly limit: number | null;
  readonly offset: number;
  readonly columns: readonly string[] | null;
}

const OPERATORS: readonly Operator[] = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "is"];
/** PostgREST operators this stand-in leaves out (tables_views.rst, "Operators"). */
const OTHER_OPERATORS = [
  "like",
  "ilike",
  "match",
  "imatch",
  "fts",
  "plfts",
  "phfts",
  "wfts",
  "cs",
  "cd",
  "ov",
  "sl",
  "sr",
  "nxr",
  "nxl",
  "adj",
  "isdistinct",
];
const IS_VALUES = ["null", "not_null", "true", "false", "unknown"];
/** A plain column name: what supabase-js sends for `.eq('owner_id', ...)`. */
const NAME = /^[^.,:()"*\s][^.,:()"\s]*$/;

export function parseTableQuery(params: URLSearchParams): TableQuery {
  let select: SelectItem[] | null = null;
  const filters: Filter[] = [];
  let order: OrderTerm[] = [];
  let limit: number | null = null;
  let offset = 0;
  let columns: string[] | null = null;
  for (const [key, value] of params) {
    if (key === "select") select = parseSelect(value);
    else if (key === "order") order = parseOrder(value);
    else if (key === "limit") limit = parseCount("limit", value, limit);
    else if (key === "offset") offset = parseCount("offset", value, offset) ?? 0;
    else if (key === "columns") columns = parseColumns(value);
    else if (key === "on_conflict") throw notImplemented("upsert (on_conflict)");
    else if (key === "or" || key === "and" || key === "not.or" || key === "not.and") {
      throw notImplemented(`the logic operator ${key}`);
    } else if (key.includes(".")) {
      throw notImplemented(`the filter or order on an embedded resource (${key})`);
    } else filters.push(parseFilter(key, value));
  }
  return { select, filters, order, limit, offset, columns };
}

function parseSelect(value: string): SelectItem[] | null {
  const items = value.split(",").map((item) => item.trim());
  if (items.length === 1 && items[0] === "*") return null;
  return items.map((item) => {
    if (item === "*") throw notImplemented("`*` next to other columns in select");
    if (/[()!]/.test(item)) throw notImplemented(`resource embedding in select (${item})`);
    if (item.includes("::") || item.includes("->")) {
      throw notImplemented(`casts and JSON paths in select (${item})`);
    }
    const [alias, column, ...rest] = item.includes(":") ? item.split(":") : [null, item];
    if (rest.length > 0 || !column || !NAME.test(column) || (alias !== null && !NAME.test(alias ?? ""))) {
      throw queryParamError("select parameter", value, `unexpected select item ${JSON.stringify(item)}`);
    }
    return { column, alias: alias ?? null };
  });
}

function parseFilter(column: string, value: string): Filter {
  const negated = value.startsWith("not.");
  const rest = negated ? value.slice(4) : value;
  const dot = rest.indexOf(".");
  const name = dot < 0 ? rest : rest.slice(0, dot);
  const operand = dot < 0 ? null : rest.slice(dot + 1);
  if (OTHER_OPERATORS.includes(name.replace(/\(.*$/, ""))) throw notImplemented(`the ${name} operator`);
  if (!(OPERATORS as readonly string[]).includes(name) || operand === null) {
    throw queryParamError(
      "filter",
      value,
      'unexpected "' + value.slice(0, 1) + '" expecting "not" or operator (eq, gt, ...)',
    );
  }
  const operator = name as Operator;
  if (operator === "in") return { column, negated, operator, values: parseList(value, operand) };
  if (operator === "is") {
    const lower = operand.toLowerCase();
    if (!IS_VALUES.includes(lower)) {
      throw queryParamError("filter", value, "expecting null or trilean value (unknown, true, false)");
    }
    return { column, negated, operator, values: [lower] };
  }
  return { column, negated, operator, values: [operand] };
}

/** `(a,"b,c",d)`: comma-separated, double quotes with backslash escapes (url_grammar.rst). */
function parseList(whole: string, operand: string): string[] {
  if (!operand.startsWith("(") || !operand.endsWith(")")) {
    throw queryParamError("filter", whole, 'expecting "(" and a list of values');
  }
  const inner = operand.slice(1, -1);
  const values: string[] = [];
  let at = 0;
  while (at <= inner.length && inner.length > 0) {
    if (inner[at] === '"') {
      let text = "";
      let i = at + 1;
      for (; i < inner.length && inner[i] !== '"'; i++) {
        text += inner[i] === "\\" ? inner[++i] ?? "" : inner[i];
      }
      if (i >= inner.length) throw queryParamError("filter", whole, "unterminated quoted value");
      values.push(text);
      at = i + 1;
    } else {
      const end = inner.indexOf(",", at);
      values.push(inner.slice(at, end < 0 ? inner.length : end).trim());
      at = end < 0 ? inner.length : end;
    }
    if (at >= inner.length) break;
    if (inner[at] !== ",") throw queryParamError("filter", whole, 'expecting "," between values');
    at += 1;
  }
  return values;
}

function parseOrder(value: string): OrderTerm[] {
  return value.split(",").map((term) => {
    const [column, ...modifiers] = term.split(".");
    let descending = false;
    let nulls: OrderTerm["nulls"] = null;
    for (const modifier of modifiers) {
      if (modifier === "asc" || modifier === "desc") descending = modifier === "desc";
      else if (modifier === "nullsfirst" || modifier === "nullslast") {
        nulls = modifier === "nullsfirst" ? "first" : "last";
      } else {throw queryParamError(
          "order",
          value,
          `unexpected ${JSON.stringify(modifier)} expecting asc, desc, nullsfirst or nullslast`,
        );}
    }
    if (!column || !NAME.test(column)) throw queryParamError("order", value, "expecting a column name");
    return { column, descending, nulls };
  });
}

/**
 * QueryParams.hs reads limit and offset with `readMaybe`: a value that is not a number
 * is ignored; RangeQuery.hs answers a negative limit with 416 PGRST103.
 */
function parseCount(name: string, value: string, current: number | null): number | null {
  if (!/^-?\d{1,9}$/.test(value)) return current;
  const count = Number(value);
  if (count < 0 && name === "limit") {
    throw new PostgrestError(
      416,
      "PGRST103",
      "Requested range not satisfiable",
      "Limit should be greater than or equal to zero.",
    );
  }
  return Math.max(count, 0);
}

function parseColumns(value: string): string[] {
  return value.split(",").map((item) => {
    const column = item.trim().replace(/^"(.*)"$/, "$1");
    if (column === "" || column.includes('"')) {
      throw queryParamError("columns parameter", value, "expecting column names");
    }
    return column;
  });
}
