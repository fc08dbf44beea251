/**
 * LOCAL DATA API STAND-IN — not PostgREST. One request, one transaction, in the order
 * PostgREST runs it (src/PostgREST/Query.hs `runQuery`, Query/PreQuery.hs `txVarQuery`
 * and `preReqQuery`, v14.17): role settings, search_path, role, claims and request
 * GUCs, then the pre-request function, then the statement.
 */
import type postgres from "postgres";
import type { AuthResult } from "./auth.ts";
import { PostgrestError } from "./errors.ts";
import { ident, type Statement } from "./statements.ts";

export interface RequestContext {
  readonly sql: postgres.Sql;
  readonly auth: AuthResult;
  /** `pgrst.db_pre_request`, e.g. `sessionguard.check_request`. */
  readonly preRequest: string | null;
  readonly request: Request;
  /** The path PostgREST sees (`/notes`), for `request.path`. */
  readonly path: string;
  readonly schema: string;
}

export interface Outcome {
  /** JSON text of the rows (or of a function's result); "[]" for a statement without rows. */
  readonly body: string;
  readonly pageTotal: number;
  /** With `count=exact`. */
  readonly total: number | null;
  /** Rows a write touched. */
  readonly affected: number;
}

/** Supabase's `db-extra-search-path` (supabase/cli config.toml `[api] extra_search_path`). */
const EXTRA_SEARCH_PATH = ["public", "extensions"];

/**
 * Runs `statement` as the request's role. `singular` (Accept: object): exactly one row
 * or 406 PGRST116, and the transaction rolls back, as PostgREST's does.
 */
export async function runRequest(
  context: RequestContext,
  readOnly: boolean,
  statement: Statement,
  singular: boolean | null,
): Promise<Outcome> {
  const { auth, request } = context;
  const mode = `isolation level read committed ${readOnly ? "read only" : "read write"}`;
  return await context.sql.begin(mode, async (tx) => {
    // PostgREST logs in as authenticator: SET ROLE is then limited to its granted roles.
    await tx.unsafe("set local session authorization authenticator");
    await tx.unsafe(
      `select pg_catalog.set_config(split_part(s, '=', 1), substr(s, strpos(s, '=') + 1), true)
       from pg_catalog.pg_db_role_setting r, unnest(r.setconfig) as s
       where r.setrole = (select oid from pg_catalog.pg_roles where rolname = $1)
         and r.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
         and split_part(s, '=', 1) not like 'pgrst.%'`,
      [auth.role],
    );
    const searchPath = [context.schema, ...EXTRA_SEARCH_PATH.filter((s) => s !== context.schema)].map(ident)
      .join(", ");
    await tx.unsafe(
      `select pg_catalog.set_config('search_path', $1, true),
              pg_catalog.set_config('role', $2, true),
              pg_catalog.set_config('request.jwt.claims', $3, true),
              pg_catalog.set_config('request.method', $4, true),
              pg_catalog.set_config('request.path', $5, true),
              pg_catalog.set_config('request.headers', $6, true),
              pg_catalog.set_config('request.cookies', $7, true)`,
      [
        searchPath,
        auth.role,
        JSON.stringify(auth.claims),
        request.method,
        context.path,
        JSON.stringify(Object.fromEntries(request.headers)),
        JSON.stringify(cookies(request.headers.get("cookie"))),
      ],
    );
    if (context.preRequest) await tx.unsafe(`select ${qualifiedFunction(context.preRequest)}()`);
    const rows = await tx.unsafe(statement.text, statement.params as postgres.ParameterOrJSON<never>[]);
    const row = rows[0] as { body?: string; page_total?: number; total?: number } | undefined;
    const outcome: Outcome = {
      body: row?.body ?? "[]",
      pageTotal: row?.page_total ?? 0,
      total: row?.total ?? null,
      affected: row?.page_total ?? rows.count ?? 0,
    };
    if (singular && outcome.pageTotal !== 1) {
      throw new PostgrestError(
        406,
        "PGRST116",
        "Cannot coerce the result to a single JSON object",
        `The result contains ${outcome.pageTotal} rows`,
      );
    }
    return outcome;
  });
}

/** `schema.name` or `name` as configured, each part quoted (a QualifiedIdentifier). */
function qualifiedFunction(name: string): string {
  const dot = name.indexOf(".");
  return dot < 0 ? ident(name) : `${ident(name.slice(0, dot))}.${ident(name.slice(dot + 1))}`;
}

/** PostgREST's `request.cookies`: name to value. */
function cookies(header: string | null): Record<string, string> {
  const jar: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) jar[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return jar;
}
