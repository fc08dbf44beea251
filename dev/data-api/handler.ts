/**
 * The LOCAL DATA API STAND-IN — not PostgREST. `npm start` serves it at `/rest/v1` when
 * no real Data API is used (SG_SUPABASE_LOCAL), so supabase-js reads and writes tables
 * and calls functions locally, under the same RLS a hosted project applies. It lives in
 * dev/, and nothing under supabase/functions imports it: a deployment cannot run it.
 *
 * Each request runs PostgREST's mechanism (src/PostgREST/Query.hs and
 * Query/PreQuery.hs, v14.17) in one transaction, read-only for reads:
 *   1. the session user becomes `authenticator` (PostgREST's login role), so only the
 *      roles granted to it can be switched to, as there;
 *   2. settings of the role (`alter role ... set`), then `search_path`, `role` (from the
 *      token), `request.jwt.claims`, `request.method`, `request.path`,
 *      `request.headers`, `request.cookies`, all `set_config(..., true)` (`txVarQuery`);
 *   3. the `db-pre-request` function, when `authenticator` has `pgrst.db_pre_request`
 *      set (in-database configuration, src/PostgREST/Config/Database.hs; reloaded on
 *      `notify pgrst, 'reload config'`, docs/references/listener.rst) — sessionguard's
 *      opt-in `sessionguard.check_request` hook;
 *   4. the statement (statements.ts). Errors map as errors.ts says.
 *
 * In front of it sits what Supabase's gateway does: an `apikey` is required, and the
 * local publishable key (the Supabase CLI's fixed local one) in `Authorization` stands
 * for the anonymous role (https://supabase.com/docs/guides/api/api-keys).
 */
import postgres from "postgres";
import { authenticate, type AuthResult, type VerificationKey } from "./auth.ts";
import { errorResponse, fromServerError, isServerError, notImplemented, PostgrestError } from "./errors.ts";
import { parseTableQuery } from "./query.ts";
import { parseAccept, parsePreferences, parseTarget, readJsonBody } from "./request.ts";
import { findRelation, findRoutine, requestSchema, requireColumns } from "./schema.ts";
import { runRequest } from "./transaction.ts";
import { checkApiKey, preflight, withCors } from "./edge.ts";
import {
  callStatement,
  deleteStatement,
  insertStatement,
  readStatement,
  type Statement,
  updateStatement,
} from "./statements.ts";

/** How the stand-in introduces itself in logs and answers. */
export const DATA_API_LABEL = "LOCAL DATA API STAND-IN — not PostgREST";

/**
 * The key `supabase start` prints as its publishable key (supabase/cli
 * pkg/config/apikeys.go `defaultPublishableKey`): one fixed, public value for every local
 * stack, so code written against `npm start` runs unchanged against `supabase start`.
 */
export const LOCAL_PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";

export interface DataApiOptions {
  /** A superuser URL of the local database (the stand-in acts as `authenticator`). */
  readonly databaseUrl: string;
  /** The stack's access-token verification keys (auth.ts). */
  readonly keys: readonly VerificationKey[];
  /** The API key clients send in `apikey`; default {@link LOCAL_PUBLISHABLE_KEY}. */
  readonly apiKey?: string;
  readonly log?: (line: string) => void;
}

export interface DataApi {
  /** Answers `/rest/v1/...`; null for any other path. */
  handle(request: Request): Promise<Response | null>;
  close(): Promise<void>;
}

const PREFIX = "/rest/v1";

export async function createDataApi(options: DataApiOptions): Promise<DataApi> {
  if ("EdgeRuntime" in globalThis) throw new Error(`${DATA_API_LABEL} cannot run in Supabase's Edge Runtime`);
  const apiKey = options.apiKey ?? LOCAL_PUBLISHABLE_KEY;
  const log = options.log ?? ((line: string) => console.log(line));
  const sql = postgres(options.databaseUrl, {
    max: 4,
    onnotice: () => {},
    connection: { application_name: "sessionguard local data api stand-in" },
  });
  const [me] = await sql<{ superuser: boolean; authenticator: boolean }[]>`
    select (select rolsuper from pg_catalog.pg_roles where rolname = current_user) as superuser,
           exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticator') as authenticator`;
  if (!me?.superuser || !me.authenticator) {
    await sql.end();
    throw new Error(
      `${DATA_API_LABEL}: DATABASE_URL must name a superuser of a database with the role authenticator`,
    );
  }
  let preRequest = await readPreRequest(sql);
  const listener = await sql.listen("pgrst", async (payload) => {
    if (payload === "reload config") preRequest = await readPreRequest(sql);
  });

  async function handle(request: Request): Promise<Response | null> {
    const url = new URL(request.url);
    if (url.pathname !== PREFIX && !url.pathname.startsWith(`${PREFIX}/`)) return null;
    const origin = request.headers.get("origin");
    if (request.method === "OPTIONS") return preflight(request);
    let auth: AuthResult | null = null;
    try {
      const refused = checkApiKey(request, url, apiKey);
      if (refused) return withCors(refused, origin);
      const authorization = request.headers.get("authorization");
      // The gateway's part: the publishable key as a bearer token means "no user".
      auth = await authenticate(authorization === `Bearer ${apiKey}` ? null : authorization, options.keys);
      const response = await answer(request, url, auth);
      return withCors(response, origin);
    } catch (error) {
      if (error instanceof PostgrestError) return withCors(errorResponse(error), origin);
      if (isServerError(error)) {
        return withCors(errorResponse(fromServerError(error, auth?.authenticated ?? false)), origin);
      }
      log(`${DATA_API_LABEL}: ${request.method} ${url.pathname}: ${(error as Error).message}`);
      return withCors(
        errorResponse(new PostgrestError(503, "PGRST001", "Database client error. Retrying the connection.")),
        origin,
      );
    }
  }

  async function answer(request: Request, url: URL, auth: AuthResult): Promise<Response> {
    const method = request.method;
    const target = parseTarget(url.pathname.slice(PREFIX.length), method);
    const reading = method === "GET" || method === "HEAD";
    const schema = requestSchema(request.headers.get(reading ? "accept-profile" : "content-profile"));
    const accept = parseAccept(request.headers);
    const prefer = parsePreferences(request.headers);
    const params = new URLSearchParams(url.searchParams);
    params.delete("apikey");
    const context = { sql, auth, preRequest, request, path: url.pathname.slice(PREFIX.length), schema };

    if (target.kind === "rpc") {
      if ([...params.keys()].length > 0) {
        throw notImplemented("filters, select or order on a function's result");
      }
      const args = await readJsonBody(request, {});
      if (typeof args !== "object" || args === null || Array.isArray(args)) {
        throw notImplemented("a function argument that is not a JSON object of named arguments");
      }
      const routine = await findRoutine(sql, schema, target.name, Object.keys(args));
      const statement = callStatement(routine, args as Record<string, unknown>);
      const result = await runRequest(context, routine.readOnly, statement, null);
      if (routine.returnsVoid) return new Response(null, { status: 204 });
      return json(200, result.body, false);
    }

    const relation = await findRelation(sql, schema, target.name);
    const query = parseTableQuery(params);
    const returning = prefer.representation ? { select: query.select, stripNulls: accept.stripNulls } : null;
    let statement: Statement;
    let status: number;
    if (reading) {
      statement = readStatement(relation, query, { count: prefer.count, stripNulls: accept.stripNulls });
      status = 200;
    } else if (method === "POST") {
      const body = await readJsonBody(request);
      const rows = Array.isArray(body) ? body : [body];
      if (rows.some((row) => typeof row !== "object" || row === null || Array.isArray(row))) {
        throw new PostgrestError(400, "PGRST102", "All object keys must match");
      }
      const columns = query.columns ?? Object.keys(rows[0] ?? {});
      const same = (row: object) => Object.keys(row).sort().join("\0") === [...columns].sort().join("\0");
      if (query.columns === null && !rows.every(same)) {
        throw new PostgrestError(400, "PGRST102", "All object keys must match");
      }
      if (prefer.missingDefault && !rows.every(same)) {
        throw notImplemented("Prefer: missing=default with differing keys");
      }
      if (columns.length === 0 && rows.length !== 1) {
        throw notImplemented("inserting several rows of default values");
      }
      requireColumns(relation, columns);
      statement = insertStatement(relation, rows as Record<string, unknown>[], columns, returning);
      status = 201;
    } else if (method === "PATCH") {
      const body = await readJsonBody(request);
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw notImplemented("a PATCH body that is not one JSON object");
      }
      requireColumns(relation, Object.keys(body));
      requireFilters(query.filters.length, "UPDATE");
      if (Object.keys(body).length === 0) {
        return prefer.representation ? json(200, "[]", false) : new Response(null, { status: 204 });
      }
      statement = updateStatement(relation, body as Record<string, unknown>, query.filters, returning);
      status = prefer.representation ? 200 : 204;
    } else {
      requireFilters(query.filters.length, "DELETE");
      statement = deleteStatement(relation, query.filters, returning);
      status = prefer.representation ? 200 : 204;
    }
    if (!reading && (query.order.length > 0 || query.limit !== null)) {
      throw notImplemented("order or limit on a write");
    }

    const result = await runRequest(
      context,
      reading,
      statement,
      accept.singular && (reading || prefer.representation),
    );
    const headers: Record<string, string> = {};
    if (reading) {
      const total = result.total ?? "*";
      headers["content-range"] = result.pageTotal === 0
        ? `*/${total}`
        : `${query.offset}-${query.offset + result.pageTotal - 1}/${total}`;
    } else {
      headers["content-range"] = `*/${prefer.count ? result.affected : "*"}`;
    }
    if (!reading && !prefer.representation) {
      return new Response(null, { status: status === 201 ? 201 : 204, headers });
    }
    const body = accept.singular ? singular(result.body) : result.body;
    return json(status, method === "HEAD" ? null : body, accept.singular, headers);
  }

  return {
    handle,
    async close() {
      await listener.unlisten().catch(() => {});
      await sql.end({ timeout: 2 });
    },
  };
}

/**
 * pg-safeupdate, which Supabase loads for `authenticator` (supabase/postgres migrations:
 * `ALTER ROLE authenticator SET session_preload_libraries = 'safeupdate'`), refuses an
 * UPDATE or DELETE without WHERE with SQLSTATE 21000; PostgREST answers it 400.
 */
function requireFilters(count: number, verb: "UPDATE" | "DELETE"): void {
  if (count === 0) throw new PostgrestError(400, "21000", `${verb} requires a WHERE clause`);
}

function singular(body: string): string {
  const rows = JSON.parse(body) as unknown[];
  return JSON.stringify(rows[0]);
}

function json(
  status: number,
  body: string | null,
  singular: boolean,
  headers: Record<string, string> = {},
): Response {
  const type = singular ? "application/vnd.pgrst.object+json" : "application/json";
  return new Response(body, { status, headers: { "content-type": `${type}; charset=utf-8`, ...headers } });
}

/** `pgrst.db_pre_request` of `authenticator` (Config/Database.hs `queryDbSettings`), or null. */
async function readPreRequest(sql: postgres.Sql): Promise<string | null> {
  const rows = await sql<{ value: string }[]>`
    select substr(s, strpos(s, '=') + 1) as value
    from pg_catalog.pg_db_role_setting r, unnest(r.setconfig) as s
    where r.setrole = (select oid from pg_catalog.pg_roles where rolname = 'authenticator')
      and r.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
      and substr(s, 1, strpos(s, '=') - 1) = 'pgrst.db_pre_request'
    order by r.setdatabase desc
    limit 1`;
  return rows[0]?.value || null;
}
