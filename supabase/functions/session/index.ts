/**
 * The `session` edge function: the only code that reads `Deno.env`.
 *
 * Settings are parsed once at start-up; a bad or missing one stops the
 * function with a message naming it. Served by `Deno.serve` in Supabase's Edge
 * Runtime, or with `deno run -A supabase/functions/session/index.ts` locally
 * (port `PORT`, default 8000). A local gateway can import
 * {@link createSessionFunction} and mount the handler itself.
 */
import { createAccessTokens } from "../../../functions/access-token.ts";
import { createClerkVerifier } from "../../../functions/clerk.ts";
import { type Config, ConfigError, type Env, parseConfig } from "../../../functions/config.ts";
import { parseDpopSettings } from "../../../functions/dpop.ts";
import { createHandler, type HandlerDeps } from "../../../functions/handler.ts";
import { createRefreshTokens } from "../../../functions/refresh-token.ts";
import { createStore, openDatabase } from "../../../functions/store.ts";
import {
  createTheftResponderFromSettings,
  parseTheftResponseSettings,
} from "../../../functions/theft-response.ts";

/** A ready handler and the way to release its database pool. */
export interface SessionFunction {
  readonly config: Config;
  readonly handler: (request: Request) => Promise<Response>;
  close(): Promise<void>;
}

/** Parses `env` and builds the handler; throws {@link ConfigError} naming a bad setting. */
export async function createSessionFunction(
  env: Env,
  options: Pick<HandlerDeps, "now" | "log"> = {},
): Promise<SessionFunction> {
  const config = parseConfig(env);
  const theftSettings = parseTheftResponseSettings(env);
  const dpop = parseDpopSettings(env, config.session.issuer);
  const verifyClerkToken = await createClerkVerifier(config.clerk).catch((error) => {
    throw new ConfigError("CLERK_JWT_KEY", `cannot be imported as an RS256 public key (${error.message})`);
  });
  const accessTokens = await createAccessTokens(config).catch((error) => {
    const setting = config.signingJwks.length > 0 ? "SESSION_SIGNING_JWK" : "SESSION_JWT_SECRET";
    throw new ConfigError(setting, `cannot be imported (${error.message})`);
  });
  const refreshTokens = await createRefreshTokens(config.refreshSecrets);
  const sql = openDatabase(config.databaseUrl, { prepare: config.databasePrepare });
  const store = createStore(sql);
  const onTheft = createTheftResponderFromSettings(theftSettings, {
    recordFailure: ({ theft }) => store.recordClerkRevokeFailed(theft.sessionId, theft.ip, theft.userAgent),
    waitUntil: edgeRuntimeWaitUntil(),
  });
  const handler = createHandler({
    config,
    store,
    onTheft,
    dpop,
    verifyClerkToken,
    accessTokens,
    refreshTokens,
    ...options,
  });
  return { config, handler, close: () => sql.end({ timeout: 5 }) };
}

// Served when run directly, or inside the Edge Runtime (which defines `EdgeRuntime`);
// not when a local gateway imports this module.
if (import.meta.main || "EdgeRuntime" in globalThis) {
  let session: SessionFunction;
  try {
    session = await createSessionFunction(Deno.env.toObject());
  } catch (error) {
    const reason = error instanceof ConfigError ? error.message : String(error);
    console.error(`session: cannot start: ${reason}`);
    Deno.exit(1);
  }
  if ("EdgeRuntime" in globalThis) {
    Deno.serve(session.handler);
  } else {
    const server = Deno.serve({
      hostname: Deno.env.get("HOST") ?? "0.0.0.0",
      port: Number(Deno.env.get("PORT") ?? 8000),
      onListen: ({ hostname, port }) => console.log(`session: listening on http://${hostname}:${port}`),
    }, session.handler);
    const stop = async () => {
      await server.shutdown();
      await session.close();
      Deno.exit(0);
    };
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  }
}

/** Supabase's `EdgeRuntime.waitUntil`, which keeps work alive after the response, if present. */
function edgeRuntimeWaitUntil(): ((work: Promise<unknown>) => void) | undefined {
  const runtime =
    (globalThis as { EdgeRuntime?: { waitUntil?: (work: Promise<unknown>) => void } }).EdgeRuntime;
  return runtime?.waitUntil ? (work) => runtime.waitUntil!(work) : undefined;
}
