/**
 * P8 at SPEC's default lifetimes (7 days idle, 30 days absolute), with the
 * handler's clock injected: the handler runs in-process on the real Postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccessTokens } from "../../functions/access-token.ts";
import { createClerkVerifier } from "../../functions/clerk-session-token.ts";
import { parseConfig } from "../../functions/config.ts";
import { createHandler, MOUNTS } from "../../functions/handler.ts";
import { createDpopProofs } from "../../functions/routes/dpop-proofs.ts";
import { createRefreshTokens } from "../../functions/refresh-token.ts";
import postgres from "postgres";
import { createStore, type Sql } from "../../functions/store.ts";
import { testDatabaseUrl } from "../support/context.ts";
import { type ClerkIssuer, startClerkIssuer } from "../../scripts/lib/clerk-issuer.ts";
import { family } from "../support/database-rows.ts";
import { refreshSecret, signingJwk } from "../../scripts/lib/throwaway-keys.ts";

const DAY = 86_400_000;

describe("default lifetimes with an injected clock", () => {
  let clerk: ClerkIssuer;
  let sql: Sql;
  let handler: (request: Request) => Promise<Response>;
  let clock = Date.now();
  let statements = 0;

  beforeAll(async () => {
    clerk = await startClerkIssuer();
    const config = parseConfig({
      CLERK_ISSUER: clerk.issuer,
      SESSION_ISSUER: "http://localhost:54321/functions/v1/session",
      SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
      SESSION_REFRESH_SECRET: refreshSecret(),
      DATABASE_URL: testDatabaseUrl(),
    });
    // As openDatabase configures it, plus a count of the statements sent.
    sql = postgres(config.databaseUrl, {
      prepare: false,
      fetch_types: false,
      onnotice: () => {},
      debug: () => statements++,
    }) as never;
    const store = createStore(sql);
    handler = createHandler({
      config,
      store,
      proofs: createDpopProofs(config, store, MOUNTS),
      verifyClerkToken: await createClerkVerifier(config.clerk),
      accessTokens: await createAccessTokens(config),
      refreshTokens: await createRefreshTokens(config.refreshSecrets, config.session.issuer),
      now: () => new Date(clock),
      log: () => {},
    });
  });
  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await clerk?.stop();
  });

  async function post(path: string, init: { token?: string; json?: unknown }) {
    const response = await handler(
      new Request(`http://localhost/functions/v1/session${path}`, {
        method: "POST",
        headers: {
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
          ...(init.json ? { "content-type": "application/json" } : {}),
        },
        body: init.json ? JSON.stringify(init.json) : undefined,
      }),
    );
    return { status: response.status, body: await response.json() };
  }

  async function start() {
    clock = Date.now();
    const response = await post("/start", { token: await clerk.token() });
    expect(response.status).toBe(200);
    return response.body;
  }

  it("costs one statement per /refresh and two per /start (rate limits, then the start)", async () => {
    statements = 0;
    const started = await start();
    expect(statements).toBe(2);
    statements = 0;
    expect((await post("/refresh", { json: { refresh_token: started.refresh_token } })).status).toBe(200);
    expect(statements).toBe(1);
    statements = 0;
    expect((await post("/refresh", { json: { refresh_token: "x.y.z" } })).status).toBe(401);
    expect(statements).toBe(0);
  });

  it("keeps a session refreshed just inside the idle timeout, and ends it exactly at it", async () => {
    const started = await start();
    const t0 = clock;
    clock = t0 + 7 * DAY - 1_000;
    const kept = await post("/refresh", { json: { refresh_token: started.refresh_token } });
    expect(kept.status).toBe(200);

    clock += 7 * DAY;
    const ended = await post("/refresh", { json: { refresh_token: kept.body.refresh_token } });
    expect(ended.body.error).toBe("session_expired");
    expect((await family(sql as never, started.session.id))?.revoked_reason).toBe("session_expired");
  });

  it("ends a session at 30 days however active, and caps the last access token there", async () => {
    let current = await start();
    const t0 = clock;
    for (let day = 6; day < 30; day += 6) {
      clock = t0 + day * DAY;
      const next = await post("/refresh", { json: { refresh_token: current.refresh_token } });
      expect(next.status).toBe(200);
      current = next.body;
    }
    clock = t0 + 30 * DAY - 120_000;
    const last = await post("/refresh", { json: { refresh_token: current.refresh_token } });
    expect(last.status).toBe(200);
    expect(last.body.expires_in).toBeLessThanOrEqual(120);
    expect(last.body.expires_at).toBe(last.body.session.expires_at);
    clock = t0 + 30 * DAY;
    const ended = await post("/refresh", { json: { refresh_token: last.body.refresh_token } });
    expect(ended.body.error).toBe("session_expired");
  });

  it("judges access tokens by the injected clock too", async () => {
    const started = await start();
    clock += 7 * DAY + 1_000;
    const response = await handler(
      new Request("http://localhost/session/sessions", {
        headers: { authorization: `Bearer ${started.access_token}` },
      }),
    );
    // The access token itself has long expired at that time: it is refused before the session is looked up.
    expect(response.status).toBe(401);
    expect((await response.json()).error).toBe("invalid_token");
  });
});
