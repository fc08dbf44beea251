/**
 * How an edge function of this repository starts, in Supabase's Edge Runtime and
 * under plain `deno run` alike.
 *
 * A bad or missing setting is logged once, naming it. Under `deno run` the process
 * then exits 1. Supabase's Edge Runtime replaces `Deno.exit` (and
 * `Deno.addSignalListener`) with no-ops in user functions (supabase/edge-runtime,
 * `ext/runtime/js/bootstrap.js`, `apisToBeOverridden`: `"exit": "mock"`, at commit
 * cba0f4e5), so execution goes on after it: the function then answers every request
 * 500 `server_error` instead of crashing on a half-built handler. Nothing about the
 * setting reaches clients; the log has it.
 *
 * `_shared/` is Supabase's convention for code shared by functions: a folder whose
 * name starts with `_` is not deployed as a function of its own.
 */
import { withoutCredentials } from "../../../functions/describe-error.ts";
import { ApiError, errorResponse } from "../../../functions/errors.ts";

type Handler = (request: Request) => Response | Promise<Response>;

/** What an entrypoint builds from the environment. */
export interface Built {
  readonly handler: Handler;
  close(): Promise<void>;
}

/** Whether this module runs inside Supabase's Edge Runtime. */
export function inEdgeRuntime(): boolean {
  return "EdgeRuntime" in globalThis;
}

/**
 * Builds the function from `Deno.env` and serves it: in the Edge Runtime with
 * `Deno.serve(handler)` (the runtime owns the listener), locally on `HOST:PORT`
 * (default 0.0.0.0:8000), stopping cleanly on SIGTERM/SIGINT.
 */
export async function serveFunction(name: string, build: (env: Record<string, string>) => Promise<Built>) {
  let built: Built | null = null;
  try {
    built = await build(Deno.env.toObject());
  } catch (error) {
    // A ConfigError's message starts with the setting's name and holds no secret value; any
    // other error (a driver's "Invalid URL: '<url>'") loses the credentials of its URLs.
    console.error(`${name}: cannot start: ${withoutCredentials(error instanceof Error ? error.message : String(error))}`);
    Deno.exit(1);
    // Only reached where Deno.exit is a no-op (Supabase's Edge Runtime).
    console.error(`${name}: every request answers 500 server_error until the setting is fixed`);
  }
  const handler: Handler = built?.handler ?? unavailable;
  if (inEdgeRuntime()) {
    Deno.serve(handler);
    return;
  }
  const server = Deno.serve({
    hostname: Deno.env.get("HOST") ?? "0.0.0.0",
    port: Number(Deno.env.get("PORT") ?? 8000),
    onListen: ({ hostname, port }) => console.log(`${name}: listening on http://${hostname}:${port}`),
  }, handler);
  const stop = async () => {
    await server.shutdown();
    await built?.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}

/** The answer of a function whose settings are broken. */
function unavailable(): Response {
  return errorResponse(new ApiError("server_error", { detail: "the function's settings are invalid" }));
}
