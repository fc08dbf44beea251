/**
 * LOCAL DATA API STAND-IN — not PostgREST. The parts of a request PostgREST reads
 * besides the query string: path, method, `Prefer`, `Accept` and the JSON body.
 *
 * From PostgREST v14.17:
 *   - paths `/<table>` and `/rpc/<function>`, anything deeper 404 PGRST125
 *     (src/PostgREST/Error.hs `InvalidResourcePath`); methods GET HEAD POST PATCH
 *     DELETE, others 405 PGRST117; only GET and POST on /rpc, else 405 PGRST101;
 *   - `Prefer` (docs/references/api/preferences.rst): return=minimal|headers-only|
 *     representation, count=exact, missing=default; unknown preferences are ignored
 *     (handling=lenient, the default);
 *   - `Accept` (docs/references/api/resource_representation.rst): application/json,
 *     application/vnd.pgrst.array+json (`nulls=stripped`), any type, and
 *     application/vnd.pgrst.object+json for one row (406 PGRST116 otherwise);
 *     others 406 PGRST107;
 *   - a body that is not JSON: 400 PGRST102 "Empty or invalid json" (Error.hs `InvalidBody`).
 */
import { notImplemented, PostgrestError } from "./errors.ts";

export type Target = { kind: "table"; name: string } | { kind: "rpc"; name: string };

export interface Preferences {
  readonly representation: boolean;
  readonly count: boolean;
  readonly missingDefault: boolean;
}

export interface Representation {
  /** application/vnd.pgrst.object+json: exactly one row, as an object. */
  readonly singular: boolean;
  readonly stripNulls: boolean;
}

const MAX_BODY_BYTES = 1_000_000;

/** `/rest/v1` removed: `/notes` or `/rpc/fn`. */
export function parseTarget(path: string, method: string): Target {
  let segments: string[];
  try {
    segments = path.split("/").slice(1).map(decodeURIComponent);
  } catch {
    throw new PostgrestError(404, "PGRST125", "Invalid path specified in request URL");
  }
  if (segments.length === 1 && segments[0] !== "") {
    if (!["GET", "HEAD", "POST", "PATCH", "DELETE"].includes(method)) {
      if (method === "PUT") throw notImplemented("PUT (upsert by primary key)");
      throw new PostgrestError(405, "PGRST117", `Unsupported HTTP method: ${method}`);
    }
    return { kind: "table", name: segments[0]! };
  }
  if (segments.length === 2 && segments[0] === "rpc" && segments[1] !== "") {
    if (method === "GET" || method === "HEAD") throw notImplemented("calling a function with GET");
    if (method !== "POST") {
      throw new PostgrestError(405, "PGRST101", `Cannot use the ${method} method on RPC`);
    }
    return { kind: "rpc", name: segments[1]! };
  }
  if (segments.length === 1) throw notImplemented("the OpenAPI description at the root");
  throw new PostgrestError(404, "PGRST125", "Invalid path specified in request URL");
}

export function parsePreferences(headers: Headers): Preferences {
  const preferences = (headers.get("prefer") ?? "").split(",").map((item) => item.trim()).filter(Boolean);
  let representation = false;
  let count = false;
  let missingDefault = false;
  for (const preference of preferences) {
    const [name, value] = preference.split("=", 2).map((part) => part.trim());
    if (name === "return") representation = value === "representation";
    else if (name === "count") {
      if (value !== "exact") throw notImplemented(`Prefer: count=${value}`);
      count = true;
    } else if (name === "missing") missingDefault = value === "default";
    else if (name === "resolution") throw notImplemented("upsert (Prefer: resolution)");
    else if (name === "max-affected") throw notImplemented("Prefer: max-affected");
    else if (name === "tx" && value === "rollback") throw notImplemented("Prefer: tx=rollback");
  }
  return { representation, count, missingDefault };
}

export function parseAccept(headers: Headers): Representation {
  const accept = headers.get("accept");
  if (accept === null || accept.trim() === "") return { singular: false, stripNulls: false };
  const offered = accept.split(",").map((item) => item.trim()).filter(Boolean);
  for (const item of offered) {
    const [type, ...parameters] = item.split(";").map((part) => part.trim().toLowerCase());
    const stripNulls = parameters.includes("nulls=stripped");
    if (type === "application/vnd.pgrst.object+json") return { singular: true, stripNulls };
    if (["application/json", "application/vnd.pgrst.array+json", "*/*", "application/*"].includes(type!)) {
      return { singular: false, stripNulls };
    }
  }
  throw new PostgrestError(406, "PGRST107", `None of these media types are available: ${offered.join(", ")}`);
}

/** The JSON body of a write or call; `{}` for an empty call body (functions.rst). */
export async function readJsonBody(request: Request, emptyAs?: unknown): Promise<unknown> {
  const length = Number(request.headers.get("content-length") ?? 0);
  if (length > MAX_BODY_BYTES) {
    throw new PostgrestError(
      413,
      "PGRST102",
      "The request body is too large for the local Data API stand-in",
    );
  }
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) {
    throw new PostgrestError(
      413,
      "PGRST102",
      "The request body is too large for the local Data API stand-in",
    );
  }
  if (text.trim() === "" && emptyAs !== undefined) return emptyAs;
  try {
    return JSON.parse(text);
  } catch {
    throw new PostgrestError(400, "PGRST102", "Empty or invalid json");
  }
}
