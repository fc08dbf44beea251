/**
 * A small stand-in for a hosted project's Data API gateway, for the refusal paths of
 * the deployment check. It decides with PostgREST's own rules (../verifiers/postgrest.ts)
 * over a configurable key setup and clock, and answers as PostgREST does:
 *
 * - no `apikey` → 401 (Supabase's API gateway);
 * - `Accept-Profile` naming a schema that is not exposed → 406 PGRST106
 *   (PostgREST `src/PostgREST/Error.hs`, `UnacceptableSchema`);
 * - a JWT its rules refuse → 401 PGRST301 / PGRST303;
 * - a role the database lacks → 401 with Postgres' 22023 "role ... does not exist"
 *   (what `set_config('role', ...)` raises; PostgREST ≥ 13.0.1 answers it 401:
 *   PostgREST/postgrest `src/library/PostgREST/Error.hs`, `mapSQLtoHTTP`, at commit
 *   48346789; CHANGELOG 13.0.1, #3601; 400 before);
 * - a relation whose policy casts the user id to uuid (`auth.uid()`), read with a
 *   `sub` that is not a uuid → 400 22P02 "invalid input syntax for type uuid" (class
 *   22 is 400 in `mapSQLtoHTTP`);
 * - an unknown relation → 404 PGRST205; else 200 [].
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type PostgrestConfig, postgrestVerify } from "./verifiers/postgrest.ts";

export interface FakeDataApiOptions {
  /** The keys and settings PostgREST is given. */
  readonly postgrest: PostgrestConfig;
  /** Schemas in "Exposed schemas". */
  readonly exposed?: readonly string[];
  /** Roles the database has. */
  readonly roles?: readonly string[];
  /** Seconds the server's clock is ahead of the real one. */
  readonly clockAhead?: number;
  /** Relations that exist in the exposed schemas. */
  readonly relations?: readonly string[];
  /** Of those, relations whose policy calls `auth.uid()` (casts `sub` to uuid). */
  readonly uidPolicies?: readonly string[];
}

export interface FakeDataApi {
  readonly origin: string;
  readonly restUrl: string;
  /** Requests seen, as "METHOD path". */
  readonly seen: string[];
  stop(): Promise<void>;
}

export async function startFakeDataApi(options: FakeDataApiOptions): Promise<FakeDataApi> {
  const exposed = options.exposed ?? ["public", "graphql_public"];
  const roles = options.roles ?? ["anon", "authenticated", "service_role"];
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      seen.push(`${req.method} ${req.url}`);
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (!req.headers.apikey) return send(401, { message: "No API key found in request" });
      const profile = (req.headers["accept-profile"] as string | undefined) ?? "public";
      if (!exposed.includes(profile)) {
        return send(406, {
          code: "PGRST106",
          details: null,
          hint: null,
          message: `The schema must be one of the following: ${exposed.join(", ")}`,
        });
      }
      let role = "anon";
      let sub: unknown;
      const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
      if (bearer) {
        const now = new Date(Date.now() + (options.clockAhead ?? 0) * 1000);
        const verdict = await postgrestVerify(bearer, options.postgrest, now);
        if (!verdict.ok) {
          return send(401, { code: verdict.code, details: null, hint: null, message: verdict.reason });
        }
        role = verdict.role;
        sub = verdict.claims.sub;
      }
      if (!roles.includes(role)) {
        return send(401, {
          code: "22023",
          details: null,
          hint: null,
          message: `role "${role}" does not exist`,
        });
      }
      const relation = new URL(req.url ?? "/", "http://x").pathname.replace(/^\/rest\/v1\//, "");
      if (!(options.relations ?? []).includes(relation)) {
        return send(404, {
          code: "PGRST205",
          details: null,
          hint: null,
          message: `Could not find the table '${profile}.${relation}' in the schema cache`,
        });
      }
      const isUuid = typeof sub === "string" && /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(sub);
      if ((options.uidPolicies ?? []).includes(relation) && sub !== undefined && !isUuid) {
        return send(400, {
          code: "22P02",
          details: null,
          hint: null,
          message: `invalid input syntax for type uuid: "${String(sub)}"`,
        });
      }
      return send(200, []);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    restUrl: `${origin}/rest/v1`,
    seen,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
