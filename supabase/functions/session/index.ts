/**
 * The `session` edge function: the only code that reads `Deno.env`.
 *
 * Settings are parsed once at start-up (functions/config.ts), and every service
 * the routes use is built here from them; a bad or missing one is logged by name
 * and stops the function (`deno run`), or, in Supabase's Edge Runtime where
 * `Deno.exit` does nothing, makes every request answer 500 `server_error`
 * (../_shared/serve.ts). Served by `Deno.serve` in the Edge Runtime, or with
 * `deno run -A supabase/functions/session/index.ts` locally (port `PORT`,
 * default 8000); dependencies resolve through this folder's deno.json when
 * deployed. A local gateway can import {@link createSessionFunction} and mount
 * the handler itself.
 */
import { createAccessTokens } from "../../../functions/access-token.ts";
import { createClerkVerifier } from "../../../functions/clerk-session-token.ts";
import { type Config, ConfigError, type Env, parseConfig } from "../../../functions/config.ts";
import { createHandler, type HandlerDeps, MOUNTS } from "../../../functions/handler.ts";
import { createDpopProofs } from "../../../functions/routes/dpop-proofs.ts";
import { createRefreshTokens } from "../../../functions/refresh-token.ts";
import { createStore, openDatabase } from "../../../functions/store.ts";
import { createTheftResponderFromSettings } from "../../../functions/theft-response.ts";
import { inEdgeRuntime, serveFunction } from "../_shared/serve.ts";

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
  warnAboutKids(config);
  const verifyClerkToken = await createClerkVerifier(config.clerk).catch((error) => {
    throw new ConfigError("CLERK_JWT_KEY", `cannot be imported as an RS256 public key (${error.message})`);
  });
  const accessTokens = await createAccessTokens(config).catch((error) => {
    const setting = config.signingJwks.length > 0 ? "SESSION_SIGNING_JWK" : "SESSION_JWT_SECRET";
    throw new ConfigError(setting, `cannot be imported (${error.message})`);
  });
  const refreshTokens = await createRefreshTokens(config.refreshSecrets, config.session.issuer);
  const sql = openDatabase(config.databaseUrl, { prepare: config.databasePrepare });
  const store = createStore(sql);
  const onTheft = createTheftResponderFromSettings(config.theftResponse, {
    recordFailure: ({ theft }) => store.recordClerkRevokeFailed(theft.sessionId, theft.ip, theft.userAgent),
    waitUntil: edgeRuntimeWaitUntil(),
  });
  const proofs = createDpopProofs(config, store, MOUNTS);
  const handler = createHandler({
    config,
    store,
    onTheft,
    proofs,
    verifyClerkToken,
    accessTokens,
    refreshTokens,
    ...options,
  });
  return { config, handler, close: () => sql.end({ timeout: 5 }) };
}

// Served when run directly, or inside the Edge Runtime (which defines `EdgeRuntime`);
// not when a local gateway imports this module.
if (import.meta.main || inEdgeRuntime()) {
  await serveFunction("session", (env) => createSessionFunction(env));
}

/**
 * Supabase's signing-key import takes only a UUID `kid` (supabase/cli v2.104.0,
 * `packages/api/src/generated/openapi.json`, `CreateSigningKeyBody.private_jwk.kid`,
 * `"format": "uuid"`): a key with another kid can
 * serve a custom OIDC provider (path B) but cannot be imported (path A). Said once at
 * start-up, not refused; a loopback issuer (the local stack) is not deployed.
 */
function warnAboutKids(config: Config): void {
  if (/^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])[:/]/.test(`${config.session.issuer}/`)) return;
  for (const { kid } of config.signingJwks) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(kid)) {
      console.warn(
        `session: SESSION_SIGNING_JWK kid ${JSON.stringify(kid)} is not a UUID: Supabase's signing-key ` +
          "import (docs/deploy.md, path A) refuses it; a custom OIDC provider (path B) takes any kid",
      );
    }
  }
}

/** Supabase's `EdgeRuntime.waitUntil`, which keeps work alive after the response, if present. */
function edgeRuntimeWaitUntil(): ((work: Promise<unknown>) => void) | undefined {
  const runtime =
    (globalThis as { EdgeRuntime?: { waitUntil?: (work: Promise<unknown>) => void } }).EdgeRuntime;
  return runtime?.waitUntil ? (work) => runtime.waitUntil!(work) : undefined;
}
