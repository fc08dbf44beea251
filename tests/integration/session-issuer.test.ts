/**
 * Refresh tokens are bound to their deployment (SESSION_ISSUER) at the real function:
 * a staging copy with the production database and the same refresh secret refuses
 * production's tokens and changes nothing, and tokens minted before the binding
 * (the legacy form) still refresh, through a secret rotation, into issuer-bound ones.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRefreshTokens } from "../../functions/refresh-token.ts";
import { family, userState } from "../support/database-rows.ts";
import { legacyRefreshToken } from "../support/legacy-refresh-token.ts";
import { call } from "../support/api.ts";
import { refreshSecret } from "../../scripts/lib/throwaway-keys.ts";
import { type SessionServer, startSessionServer } from "../../scripts/lib/session-server.ts";
import { type Stack, startStack } from "../support/stack.ts";

const PRODUCTION = "https://prod.example.com/functions/v1/session";
const STAGING = "https://staging.example.com/functions/v1/session";
const OLD_SECRET = refreshSecret();
const NEW_SECRET = refreshSecret();

let production: Stack;
/** Same database, same secrets, another issuer: a staging clone of production. */
let staging: SessionServer;
/** Production after a secret rotation: a new secret in front of the old one. */
let rotated: SessionServer;

beforeAll(async () => {
  production = await startStack({ SESSION_ISSUER: PRODUCTION, SESSION_REFRESH_SECRET: OLD_SECRET });
  [staging, rotated] = await Promise.all([
    startSessionServer({ ...production.settings, SESSION_ISSUER: STAGING }),
    startSessionServer({ ...production.settings, SESSION_REFRESH_SECRET: `${NEW_SECRET},${OLD_SECRET}` }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.allSettled([staging?.stop(), rotated?.stop()]);
  await production?.stop();
});

const refreshAt = (server: SessionServer, token: string) =>
  call(server.url, "/refresh", { json: { refresh_token: token } });

describe("refresh tokens bound to the deployment", () => {
  it("a staging clone with the same secret refuses production's token and changes nothing", async () => {
    const started = await production.start();
    const before = await userState(production.sql, started.user_id);

    const atStaging = await refreshAt(staging, started.refresh_token);
    expect(atStaging.status).toBe(401);
    expect(atStaging.body.error).toBe("invalid_refresh_token");
    // Not even counted as a use: no rotation, no revocation, no event.
    expect(await userState(production.sql, started.user_id)).toBe(before);

    const atProduction = await production.refresh(started.refresh_token);
    expect(atProduction.status).toBe(200);
    // Nor can staging use a successor, nor a spent token to trip theft detection there.
    for (const token of [atProduction.body.refresh_token, started.refresh_token]) {
      expect((await refreshAt(staging, token)).body.error).toBe("invalid_refresh_token");
    }
    expect((await family(production.sql, started.session.id))?.revoked_at).toBeNull();
  });

  it("a legacy token still refreshes, and its successor is bound to the issuer", async () => {
    const started = await production.start();
    const legacy = legacyRefreshToken(OLD_SECRET, started.session.id, 0);
    expect(legacy).not.toBe(started.refresh_token);

    const refreshed = await production.refresh(legacy);
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    const successor: string = refreshed.body.refresh_token;
    expect(successor.split(".")[0]).toHaveLength(12);
    expect(await (await createRefreshTokens([OLD_SECRET], PRODUCTION)).verify(successor))
      .toEqual({ family: started.session.id, generation: 1 });
    expect(await (await createRefreshTokens([OLD_SECRET], STAGING)).verify(successor)).toBeNull();
    expect((await refreshAt(staging, successor)).body.error).toBe("invalid_refresh_token");
    expect((await production.refresh(successor)).status).toBe(200);
  });

  it("a legacy token of the old secret refreshes after a secret rotation; its successor uses the new one", async () => {
    const started = await production.start();
    const legacy = legacyRefreshToken(OLD_SECRET, started.session.id, 0);

    const refreshed = await refreshAt(rotated, legacy);
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    const successor: string = refreshed.body.refresh_token;
    expect(await (await createRefreshTokens([NEW_SECRET], PRODUCTION)).verify(successor))
      .toEqual({ family: started.session.id, generation: 1 });
    expect(await (await createRefreshTokens([NEW_SECRET], STAGING)).verify(successor)).toBeNull();
    // A grace retry of the legacy token gets the identical issuer-bound successor (P3).
    expect((await refreshAt(rotated, legacy)).body.refresh_token).toBe(successor);
  });
});
