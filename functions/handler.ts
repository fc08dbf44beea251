/**
 * The session API (SPEC, "HTTP API") as one `(Request) => Promise<Response>`,
 * built from injected dependencies so that the Deno entrypoint, a local
 * gateway and tests all run the same code.
 *
 * Routes answer under `/functions/v1/session/...` (the public URL) and
 * `/session/...` (what Supabase's Edge Runtime passes to the function).
 */
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import type { AccessTokenClaims, AccessTokens } from "./access-token.ts";
import type { ClerkVerifier } from "./clerk-session-token.ts";
import { accessToken, bearerToken } from "./authorization.ts";
import { type Config, type DpopSettings, IP_BUDGET_FACTOR, parseDpopSettings } from "./config.ts";
import { createDpopVerifier, type VerifiedProof } from "./dpop.ts";
import { ApiError, errorResponse, toApiError } from "./errors.ts";
import type { RefreshTokens } from "./refresh-token.ts";
import { clientIp, optionalString, readJsonBody, userAgent } from "./request.ts";
import type { Budget, Store } from "./store.ts";
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
  /** DPoP settings beyond `SESSION_DPOP`; default: issuer as public URL, no nonces, refuse only. */
  readonly dpop?: DpopSettings;
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

const MOUNTS = ["/functions/v1/session", "/session"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_DEVICE_NAME_LENGTH = 100;
const EVENTS_LIMIT = 50;
const SIGNOUT_SCOPES = ["local", "others", "global"] as const;

const unix = (date: Date): number => Math.floor(date.getTime() / 1000);
const noStore = { "cache-control": "no-store", pragma: "no-cache" };

/** Builds the request handler. */
export function createHandler(deps: HandlerDeps): (request: Request) => Promise<Response> {
  const { config, store, accessTokens, refreshTokens } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? ((entry: LogEntry) => console.warn(JSON.stringify(entry)));
  const { session } = config;
  const dpopSettings: DpopSettings = deps.dpop ?? parseDpopSettings({}, session.issuer);
  const dpopVerifier = createDpopVerifier({
    secrets: config.refreshSecrets,
    publicUrls: dpopSettings.publicUrls,
    requireNonce: dpopSettings.nonce,
    mounts: MOUNTS,
  });

  /**
   * The request's verified DPoP proof, or null when it carries none. With
   * `SESSION_DPOP=off` proofs are not looked at, and nothing is bound.
   */
  async function proofOf(c: Context, at: Date, accessToken?: string): Promise<VerifiedProof | null> {
    if (session.dpop === "off") return null;
    return await (await dpopVerifier).verify(c.req.raw, { now: at, accessToken });
  }

  /**
   * Signs an access token and mints the refresh token of `generation`: the token
   * response. A family bound to a device key (`jkt`) gets access tokens with
   * `cnf.jkt`, of token type `DPoP` (RFC 9449 §5).
   */
  async function tokenResponse(
    c: Context,
    userId: string,
    sessionId: string,
    generation: number,
    expiresAt: Date,
    at: Date,
    jkt: string | null,
  ): Promise<Response> {
    const [access, refreshToken] = await Promise.all([
      accessTokens.sign({ userId, sessionId, now: at, notAfter: expiresAt, jkt }),
      refreshTokens.mint(sessionId, generation),
    ]);
    return c.json(
      {
        access_token: access.token,
        token_type: jkt ? "DPoP" : "bearer",
        expires_in: access.claims.exp - access.claims.iat,
        expires_at: access.claims.exp,
        refresh_token: refreshToken,
        session: { id: sessionId, expires_at: unix(expiresAt) },
        user_id: userId,
      },
      200,
      noStore,
    );
  }

  /**
   * Verifies the access token, then asks the database whether its session still
   * lives. A token bound to a device key (`cnf.jkt`) also needs a proof from that
   * key, carrying the token's hash, that was never used before.
   */
  async function authenticate(c: Context, at: Date): Promise<AccessTokenClaims> {
    const token = accessToken(c.req.raw);
    const claims = await accessTokens.verify(token, at);
    const bound = session.dpop === "off" ? undefined : claims.cnf?.jkt;
    // Every route a session calls shares the session's budget (the refresh budget of
    // SESSION_RATE_LIMITS) and its ip's, counted before a DPoP proof is verified; the
    // session's state is read in the same moment.
    const limits = config.rateLimits;
    const ip = clientIp(c.req.raw, config.clientIp);
    const [wait, status] = await Promise.all([
      limits === null ? 0 : store.checkRateLimits([
        { key: `api:family:${claims.sid}`, budget: limits.refresh },
        ...(ip === null ? [] : [{ key: `api:ip:${ip}`, budget: scaled(limits.refresh) }]),
      ], at),
      store.sessionStatus(claims.sid, claims.sub, at),
    ]);
    if (wait > 0) throw rateLimited(wait, `${c.req.method} ${c.req.path} of ${claims.sid}`);
    if (bound !== undefined) {
      const proof = await proofOf(c, at, token);
      if (proof === null) {
        throw new ApiError("invalid_dpop_proof", { detail: "bound access token without proof" });
      }
      if (proof.jkt !== bound) throw new ApiError("invalid_dpop_proof", { detail: "proof from another key" });
      // One row per bound call, kept for the proof window only (purge_guards) and
      // bounded by the budget above: the price of refusing a replayed proof.
      const fresh = await store.useDpopProof(proof.jkt, proof.jti, (await dpopVerifier).replayWindow, at);
      if (!fresh) throw new ApiError("invalid_dpop_proof", { detail: "proof jti already used" });
    }
    if (status === "revoked") throw new ApiError("session_revoked");
    if (status === "expired") throw new ApiError("session_expired");
    if (status !== "active") throw new ApiError("invalid_token", { detail: `session ${status}` });
    return claims;
  }

  const api = new Hono();

  // Each route takes its time only once the body is in: a client decides how long its
  // upload takes, and must not be judged at an earlier moment of its choosing (a
  // replay held back in a slow upload would otherwise fall inside a closed grace window).
  api.post("/start", async (c) => {
    const clerkToken = bearerToken(c.req.raw);
    const body = await readJsonBody(c.req.raw);
    const at = now();
    const deviceName = optionalString(body, "device_name", MAX_DEVICE_NAME_LENGTH);
    // Cheapest first: the Clerk token (an RS256 verification), then the limits, and only
    // then the DPoP proof (an ES256 verification, several times dearer in Deno).
    const identity = await deps.verifyClerkToken(clerkToken, at);
    const ip = clientIp(c.req.raw, config.clientIp);
    if (config.rateLimits) {
      const { start } = config.rateLimits;
      const wait = await store.checkRateLimits([
        { key: `start:user:${identity.userId}`, budget: start },
        ...(ip === null ? [] : [{ key: `start:ip:${ip}`, budget: scaled(start) }]),
      ], at);
      if (wait > 0) throw rateLimited(wait, `start for ${identity.userId}`);
    }
    // A proof here binds the new family to its key. Its jti is remembered like any
    // other, so a captured proof cannot start (and bind) a second session.
    const proof = await proofOf(c, at);
    if (proof === null && session.dpop === "required") {
      throw new ApiError("invalid_dpop_proof", { detail: "SESSION_DPOP=required and no proof" });
    }
    if (proof !== null && !(await store.useDpopProof(proof.jkt, proof.jti, (await dpopVerifier).replayWindow, at))) {
      throw new ApiError("invalid_dpop_proof", { detail: "start proof jti already used" });
    }
    const started = await store.startSession({
      userId: identity.userId,
      clerkSessionId: identity.clerkSessionId,
      deviceName,
      ip,
      userAgent: userAgent(c.req.raw),
      idleTimeout: session.idleTimeout,
      // An impersonated session (Clerk's `act`) lives no longer than SESSION_IMPERSONATION_LIFETIME.
      absoluteLifetime: identity.actorId === null
        ? session.absoluteLifetime
        : Math.min(session.absoluteLifetime, session.impersonationLifetime),
      dpopJkt: proof?.jkt ?? null,
      actorId: identity.actorId,
      now: at,
    });
    return tokenResponse(
      c,
      identity.userId,
      started.sessionId,
      started.generation,
      started.expiresAt,
      at,
      proof?.jkt ?? null,
    );
  });

  api.post("/refresh", async (c) => {
    const body = await readJsonBody(c.req.raw);
    const at = now();
    const presented = body?.refresh_token;
    if (typeof presented !== "string") {
      throw new ApiError("invalid_request", { description: '"refresh_token" must be a string.' });
    }
    // A token this server did not mint is refused before the database hears of it (P4).
    const claims = await refreshTokens.verify(presented);
    if (claims === null) throw new ApiError("invalid_refresh_token", { detail: "shape, kid or MAC" });
    // Checked before the database hears of the token: a bad proof changes nothing.
    const proof = await proofOf(c, at);

    const ip = clientIp(c.req.raw, config.clientIp);
    const agent = userAgent(c.req.raw);
    const limits = config.rateLimits;
    const rotated = await store.refreshSession({
      sessionId: claims.family,
      generation: claims.generation,
      ip,
      userAgent: agent,
      idleTimeout: session.idleTimeout,
      reuseGrace: session.reuseGrace,
      theftScope: session.theftScope,
      // The database rotates a bound family only for its own key, and refuses a jti it has seen.
      dpopJkt: proof?.jkt ?? null,
      dpopJti: proof?.jti ?? null,
      dpopLifetime: (await dpopVerifier).replayWindow,
      rateLimit: limits?.refresh ?? null,
      ipRateLimit: limits ? scaled(limits.refresh) : null,
      now: at,
    });
    switch (rotated.result) {
      case "rotated":
      case "grace":
        // On "grace" the generation is the successor already handed out, so the string is identical (P3).
        return tokenResponse(
          c,
          rotated.userId,
          rotated.sessionId,
          rotated.generation,
          rotated.expiresAt,
          at,
          rotated.dpopJkt,
        );
      case "reused":
        // The family is already revoked (committed). The responder's outside calls are
        // bounded by its own timeout, so the 401 never waits longer than that.
        await deps.onTheft?.({
          userId: rotated.userId,
          sessionId: rotated.sessionId,
          clerkSessionId: rotated.clerkSessionId,
          ip,
          userAgent: agent,
          scope: session.theftScope,
          detectedAt: at,
        });
        throw new ApiError("refresh_token_reused", {
          detail: `family ${claims.family} gen ${claims.generation}`,
        });
      case "rate_limited":
        throw rateLimited(rotated.retryAfter, `refresh of ${claims.family}`);
      case "dpop_replay":
        throw new ApiError("invalid_dpop_proof", { detail: "proof jti already used" });
      case "revoked":
        throw new ApiError("session_revoked");
      case "expired":
        throw new ApiError("session_expired");
      case "dpop_mismatch":
        // The refresh token is off its device (the database wrote dpop_key_mismatch and
        // rotated nothing). The holder of the key can go on; optionally end the session.
        if (dpopSettings.mismatch === "revoke") {
          await store.revokeSession(rotated.userId, rotated.sessionId, "session_revoked", at);
        }
        throw new ApiError("invalid_dpop_proof", {
          detail: `family ${claims.family} is bound to another key (${proof ? "other key" : "no proof"})`,
        });
      case "not_found":
        throw new ApiError("invalid_refresh_token", { detail: "no such family or generation ahead" });
    }
  });

  api.post("/signout", async (c) => {
    const body = await readJsonBody(c.req.raw);
    const at = now();
    const claims = await authenticate(c, at);
    // Absent means "local"; anything present must be one of the three names (null included).
    const scope = body?.scope === undefined ? "local" : body.scope;
    if (!SIGNOUT_SCOPES.includes(scope as typeof SIGNOUT_SCOPES[number])) {
      throw new ApiError("invalid_request", {
        description: '"scope" must be "local", "others" or "global".',
      });
    }
    if (scope === "local") await store.revokeSession(claims.sub, claims.sid, "signed_out", at);
    else if (scope === "others") await store.revokeOtherSessions(claims.sub, claims.sid, at);
    else await store.revokeUserSessions(claims.sub, "signed_out", at);
    return c.body(null, 204);
  });

  api.get("/sessions", async (c) => {
    const at = now();
    const claims = await authenticate(c, at);
    const rows = await store.listSessions(claims.sub, at);
    const sessions = rows.map((row) => ({
      id: row.id,
      device_name: row.deviceName,
      user_agent: row.userAgent,
      ip: row.ip,
      created_at: unix(row.createdAt),
      last_active_at: unix(row.lastActiveAt),
      expires_at: unix(row.expiresAt),
      current: row.id === claims.sid,
    }));
    return c.json({ sessions }, 200, noStore);
  });

  api.delete("/sessions/:id", async (c) => {
    const at = now();
    const claims = await authenticate(c, at);
    const id = c.req.param("id");
    // Malformed and foreign ids answer alike, so ids cannot be probed.
    if (!UUID.test(id) || !(await store.revokeSession(claims.sub, id, "session_revoked", at))) {
      throw new ApiError("not_found");
    }
    return c.body(null, 204);
  });

  api.get("/events", async (c) => {
    const claims = await authenticate(c, now());
    const rows = await store.listEvents(claims.sub, EVENTS_LIMIT);
    const events = rows.map((row) => ({
      id: row.id,
      type: row.type,
      session_id: row.sessionId,
      created_at: unix(row.createdAt),
      ip: row.ip,
      user_agent: row.userAgent,
      description: row.description,
    }));
    return c.json({ events }, 200, noStore);
  });

  api.get(
    "/.well-known/jwks.json",
    (c) => c.json(accessTokens.jwks, 200, { "cache-control": "public, max-age=300" }),
  );
  api.get(
    "/.well-known/openid-configuration",
    (c) => c.json(accessTokens.openidConfiguration, 200, { "cache-control": "public, max-age=300" }),
  );

  const allowed: Record<string, string> = {
    "/start": "POST",
    "/refresh": "POST",
    "/signout": "POST",
    "/sessions": "GET, HEAD",
    "/sessions/:id": "DELETE",
    "/events": "GET, HEAD",
    "/.well-known/jwks.json": "GET, HEAD",
    "/.well-known/openid-configuration": "GET, HEAD",
  };
  for (const [path, methods] of Object.entries(allowed)) {
    api.all(path, () => {
      throw new ApiError("method_not_allowed", { headers: { allow: methods } });
    });
  }

  const app = new Hono();
  // CORS for the ALLOWED_ORIGINS allowlist, errors included. Credentials are bearer
  // tokens and DPoP proofs, never cookies. `date` is exposed so that a client whose
  // clock is off can correct the iat of its DPoP proofs.
  const { allowedOrigins } = config;
  app.use(
    "*",
    cors({
      origin: (origin) => (allowedOrigins === "*" || allowedOrigins.includes(origin) ? origin : null),
      allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
      allowHeaders: ["authorization", "content-type", "dpop", "apikey", "x-client-info"],
      exposeHeaders: ["www-authenticate", "dpop-nonce", "retry-after", "date"],
      maxAge: 600,
    }),
  );
  if (dpopSettings.nonce && session.dpop !== "off") {
    // Every answer to a request with a proof carries a current nonce, so a client
    // meets the use_dpop_nonce challenge once, not once per nonce period.
    app.use("*", async (c, next) => {
      await next();
      if (c.req.header("dpop") !== undefined && !c.res.headers.has("dpop-nonce")) {
        const nonce = await (await dpopVerifier).nonce(now());
        if (nonce !== null) c.res.headers.set("dpop-nonce", nonce);
      }
    });
  }
  for (const mount of MOUNTS) app.route(mount, api);
  app.notFound(() => {
    throw new ApiError("not_found");
  });
  app.onError((error, c) => {
    const apiError = toApiError(error);
    log({
      level: apiError.status >= 500 ? "error" : "info",
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: apiError.status,
      code: apiError.code,
      detail: apiError.status >= 500 && error instanceof Error
        ? error.stack ?? apiError.detail
        : apiError.detail,
    });
    return errorResponse(apiError);
  });

  return async (request) => await app.fetch(request);
}

/** A budget for everything behind one ip. */
function scaled(budget: Budget): Budget {
  return { count: budget.count * IP_BUDGET_FACTOR, seconds: budget.seconds };
}

/** 429 with the seconds to wait. */
function rateLimited(seconds: number, detail: string): ApiError {
  return new ApiError("rate_limited", { headers: { "retry-after": String(seconds) }, detail });
}
