/**
 * What the local gateway serves at `/rest/v1` (dev/gateway.ts), from its settings:
 *
 *   SG_DATA_API_UPSTREAM=<url>  a real Data API (PostgREST behind `supabase start`'s gateway,
 *                               e.g. http://127.0.0.1:54321/rest/v1): requests are passed on
 *                               as they came (SG_SUPABASE_LOCAL=1 sets this; see
 *                               docs/local-stack.md)
 *   SG_DATA_API=off             nothing (404)
 *   otherwise                   the LOCAL DATA API STAND-IN (handler.ts) on DATABASE_URL,
 *                               trusting the stack's own access-token keys
 */
import { verificationKeys } from "./auth.ts";
import { errorResponse, PostgrestError } from "./errors.ts";
import { createDataApi, DATA_API_LABEL, type DataApi } from "./handler.ts";

export interface MountedDataApi {
  /** How the banner and logs name it. */
  readonly label: string;
  handle(request: Request): Promise<Response | null>;
  close(): Promise<void>;
}

const PREFIX = "/rest/v1";

export async function mountDataApi(
  env: Record<string, string | undefined>,
  log: (line: string) => void,
): Promise<MountedDataApi | null> {
  if (env.SG_DATA_API === "off") return null;
  const upstream = env.SG_DATA_API_UPSTREAM?.replace(/\/+$/, "");
  if (upstream) return proxyTo(upstream);
  const databaseUrl = env.DATABASE_URL ?? env.SUPABASE_DB_URL;
  if (!databaseUrl) throw new Error("the Data API stand-in needs DATABASE_URL");
  const keys = await verificationKeys({
    signingJwk: env.SESSION_SIGNING_JWK,
    jwtSecret: env.SESSION_JWT_SECRET,
  });
  // Connected on the first request: the gateway prepares while the database still starts.
  let api: Promise<DataApi> | null = null;
  return {
    label: DATA_API_LABEL,
    async handle(request) {
      const { pathname } = new URL(request.url);
      if (pathname !== PREFIX && !pathname.startsWith(`${PREFIX}/`)) return null;
      api ??= createDataApi({ databaseUrl, keys, log }).catch((error) => {
        api = null;
        throw error;
      });
      let ready: DataApi;
      try {
        ready = await api;
      } catch (error) {
        log(`${DATA_API_LABEL}: ${(error as Error).message}`);
        // PostgREST's answer when it cannot reach the database (Error.hs, PGRST000).
        return errorResponse(new PostgrestError(503, "PGRST000", "Database connection error."));
      }
      return await ready.handle(request);
    },
    async close() {
      if (api) await (await api.catch(() => null))?.close();
    },
  };
}

/** Passes `/rest/v1/...` on to `upstream` unchanged but for the Host. */
function proxyTo(upstream: string): MountedDataApi {
  return {
    label: `the Data API at ${upstream}`,
    async handle(request) {
      const url = new URL(request.url);
      if (url.pathname !== PREFIX && !url.pathname.startsWith(`${PREFIX}/`)) return null;
      const headers = new Headers(request.headers);
      headers.delete("host");
      const hasBody = request.method !== "GET" && request.method !== "HEAD";
      const answer = await fetch(`${upstream}${url.pathname.slice(PREFIX.length)}${url.search}`, {
        method: request.method,
        headers,
        body: hasBody ? await request.arrayBuffer() : undefined,
        redirect: "manual",
      });
      return new Response(answer.body, { status: answer.status, headers: answer.headers });
    },
    close: async () => {},
  };
}
