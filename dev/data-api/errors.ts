/**
 * LOCAL DATA API STAND-IN — not PostgREST. Its errors, shaped and mapped as PostgREST's.
 *
 * Every rule below is copied from PostgREST v14.17 (PostgREST/postgrest):
 *   - the body `{code, details, hint, message}` and the `Proxy-Status` header:
 *     src/PostgREST/Error.hs (`toJsonPgrstError`, `proxyStatusHeader`), docs/references/errors.rst;
 *   - PostgreSQL SQLSTATE to HTTP status: Error.hs `pgErrorStatus` (the table in errors.rst,
 *     plus the source's special cases for 21000 "requires a WHERE clause" and 22023 "role ...
 *     does not exist");
 *   - `RAISE SQLSTATE 'PGRST'` with JSON message and detail (status, headers), and `PTxyz`:
 *     errors.rst "Custom Errors", Error.hs `parseRaisePGRST`;
 *   - 401 answers carry `WWW-Authenticate: Bearer`: Error.hs `headers` of `PgError`.
 */

/** An error answered as PostgREST answers it. */
export class PostgrestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: string | null = null,
    readonly hint: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** PGRST100: a query parameter PostgREST cannot parse (Error.hs `QueryParamError`). */
export function queryParamError(what: string, value: string, details: string): PostgrestError {
  return new PostgrestError(
    400,
    "PGRST100",
    `"failed to parse ${what} (${value})" (line 1, column 1)`,
    details,
  );
}

/**
 * PGRST127 "Feature not implemented" (Error.hs `NotImplemented`): what this stand-in does
 * not implement is refused with PostgREST's own code for that, never guessed at.
 */
export function notImplemented(feature: string): PostgrestError {
  return new PostgrestError(
    400,
    "PGRST127",
    "Feature not implemented",
    `${feature} is not implemented by the local Data API stand-in (npm start); use supabase start for the real PostgREST`,
  );
}

/** The PostgREST answer for an error. */
export function errorResponse(error: PostgrestError): Response {
  const body = { code: error.code, details: error.details, hint: error.hint, message: error.message };
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "proxy-status": `PostgREST; error=${error.code}`,
      ...error.headers,
    },
  });
}

/** What postgres.js reports for an error the server raised. */
export interface ServerError {
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

export function isServerError(error: unknown): error is ServerError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "string" &&
    (error as { name?: string }).name === "PostgresError";
}

/**
 * A PostgreSQL error as PostgREST answers it; `authenticated` is whether the request
 * carried a JWT (42501 is then 403, else 401).
 */
export function fromServerError(error: ServerError, authenticated: boolean): PostgrestError {
  const { code, message } = error;
  const detail = error.detail ?? null;
  const hint = error.hint ?? null;
  if (code === "PGRST") return fromRaisePgrst(message, detail);
  const status = pgErrorStatus(code, message, authenticated);
  const headers: Record<string, string> = status === 401 ? { "www-authenticate": "Bearer" } : {};
  return new PostgrestError(status, code, message, detail, hint, headers);
}

/** Error.hs `pgErrorStatus`, case by case in its order. */
export function pgErrorStatus(code: string, message: string, authenticated: boolean): number {
  const exact: Record<string, number> = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "53400": 500,
    "57P01": 503,
    "P0001": 400,
    "42P01": 404,
    "42P17": 500,
  };
  if (code === "21000") return message.endsWith("requires a WHERE clause") ? 400 : 500;
  if (code === "22023") return message.startsWith("role") && message.endsWith("does not exist") ? 401 : 400;
  if (code === "42883") return message.startsWith("function xmlagg(") ? 406 : 404;
  if (code === "42501") return authenticated ? 403 : 401;
  if (code in exact) return exact[code]!;
  if (code.startsWith("PT")) {
    const status = Number(code.slice(2));
    return Number.isInteger(status) && status >= 100 && status <= 999 ? status : 500;
  }
  const byClass: Record<string, number> = {
    "08": 503,
    "09": 500,
    "0L": 403,
    "0P": 403,
    "25": 500,
    "28": 403,
    "2D": 500,
    "38": 500,
    "39": 500,
    "3B": 500,
    "40": 500,
    "53": 503,
    "54": 500,
    "55": 500,
    "57": 500,
    "58": 500,
    "F0": 500,
    "HV": 500,
    "P0": 500,
    "XX": 500,
  };
  return byClass[code.slice(0, 2)] ?? 400;
}

/**
 * `RAISE SQLSTATE 'PGRST'`: the message is a JSON object (code, message, details?,
 * hint?), the detail a JSON object (status, status_text?, headers). Anything else is
 * PGRST121 (Error.hs `PGRSTParseError`).
 */
function fromRaisePgrst(message: string, detail: string | null): PostgrestError {
  const parsed = parseObject(message);
  if (!parsed || typeof parsed.code !== "string" || typeof parsed.message !== "string") {
    return raiseParseError(
      `Invalid JSON value for MESSAGE: '${message}'`,
      "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'.",
    );
  }
  if (detail === null) {
    return raiseParseError(
      "DETAIL is missing in the RAISE statement",
      "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'.",
    );
  }
  const details = parseObject(detail);
  const headers = details?.headers;
  if (
    !details || typeof details.status !== "number" || typeof headers !== "object" || headers === null ||
    Object.values(headers).some((value) => typeof value !== "string")
  ) {
    return raiseParseError(
      `Invalid JSON value for DETAIL: '${detail}'`,
      "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'.",
    );
  }
  return new PostgrestError(
    details.status,
    parsed.code,
    parsed.message,
    typeof parsed.details === "string" ? parsed.details : null,
    typeof parsed.hint === "string" ? parsed.hint : null,
    Object.fromEntries(
      Object.entries(headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
    ),
  );
}

function raiseParseError(details: string, hint: string): PostgrestError {
  return new PostgrestError(
    500,
    "PGRST121",
    `Could not parse JSON in the "RAISE SQLSTATE 'PGRST'" error`,
    details,
    hint,
  );
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}
