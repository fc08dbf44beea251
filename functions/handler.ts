/**
 * The session API (docs/contract.md, "HTTP API") as one `(Request) => Promise<Response>`:
 * the composition file. It resolves the dependencies once, mounts the
 * per-resource sub-apps of functions/routes/ (start, refresh, account,
 * well-known) with `app.route()`, and owns what is common to all of them: CORS
 * (functions/cors.ts),
 * the DPoP nonce header, not-found and the error wrapper. Built from injected
 * dependencies so that the Deno entrypoint, a local gateway and tests all run
 * the same code.
 *
 * Routes answer under `/functions/v1/session/...` (the public URL) and
 * `/session/...` (what Supabase's Edge Runtime passes to the function).
 */
import { Hono } from "hono";
import type { AccessTokens } from "./access-token.ts";
import type { ClerkVerifier } from "./clerk-session-token.ts";
import type { Config } from "./config.ts";
import { corsMiddleware } from "./cors.ts";
import { answerErrors } from "./errors.ts";
import type { RefreshTokens } from "./refresh-token.ts";
import { accountRoutes } from "./routes/account.ts";
import { claimsRoute } from "./routes/claims.ts";
import type { RouteDeps } from "./routes/deps.ts";
import type { DpopProofs } from "./routes/dpop-proofs.ts";
import { refreshRoute } from "./routes/refresh.ts";
import { startRoute } from "./routes/start.ts";
import { createTokenResponder } from "./routes/token-response.ts";
import { wellKnownRoutes } from "./routes/well-known.ts";
import type { Store } from "./store.ts";
import type { TheftResponder } from "./theft-response.ts";

/** What the handler needs from the outside world. */
export interface HandlerDeps {
  readonly config: Config;
  readonly store: Store;
  readonly verifyClerkToken: ClerkVerifier;
  readonly accessTokens: AccessTokens;
  readonly refreshTokens: RefreshTokens;
  /** The clock every expiry decision uses. */
  readonly now?: () => Date;
  /** Where refusals (with their internal reason) and failures are reported. */
  readonly log?: (entry: LogEntry) => void;
  /** What else to do when a reused refresh token is caught (Clerk revocation, webhook). */
  readonly onTheft?: TheftResponder;
  /** The DPoP proof checks, built from `config.dpop` (createDpopProofs, with {@link MOUNTS}). */
  readonly proofs: DpopProofs;
}

/** One line of the function's log. */
export interface LogEntry {
  readonly level: "info" | "error";
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly code: string;
  readonly detail?: string;
}

/** The paths the function answers under: the public one, and what Supabase's Edge Runtime passes on. */
export const MOUNTS: readonly string[] = ["/functions/v1/session", "/session"];

/** Builds the request handler. */
export function createHandler(deps: HandlerDeps): (request: Request) => Promise<Response> {
  const { config, store, accessTokens, refreshTokens } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? ((entry: LogEntry) => console.warn(JSON.stringify(entry)));
  const routeDeps: RouteDeps = {
    config,
    store,
    verifyClerkToken: deps.verifyClerkToken,
    accessTokens,
    refreshTokens,
    proofs: deps.proofs,
    now,
    onTheft: deps.onTheft,
  };
  const tokenResponse = createTokenResponder(accessTokens, refreshTokens);

  const account = accountRoutes(routeDeps);
  const api = new Hono()
    .route("/start", startRoute(routeDeps, tokenResponse))
    .route("/refresh", refreshRoute(routeDeps, tokenResponse))
    .route("/claims", claimsRoute(routeDeps))
    .route("/signout", account.signout)
    .route("/sessions", account.sessions)
    .route("/events", account.events)
    .route("/.well-known", wellKnownRoutes(accessTokens));

  const app = new Hono();
  // CORS for the ALLOWED_ORIGINS allowlist, errors included (functions/cors.ts).
  app.use("*", corsMiddleware(config.allowedOrigins));
  if (config.dpop.nonce && config.dpop.mode !== "off") {
    // Every answer to a request with a proof carries a current nonce, so a client
    // meets the use_dpop_nonce challenge once, not once per nonce period.
    app.use("*", async (c, next) => {
      await next();
      if (c.req.header("dpop") !== undefined && !c.res.headers.has("dpop-nonce")) {
        const nonce = await routeDeps.proofs.nonce(now());
        if (nonce !== null) c.res.headers.set("dpop-nonce", nonce);
      }
    });
  }
  for (const mount of MOUNTS) app.route(mount, api);
  answerErrors(
    app,
    ({ level, ...rest }, request) =>
      log({ level, method: request.method, path: new URL(request.url).pathname, ...rest }),
  );

  return async (request) => await app.fetch(request);
}
