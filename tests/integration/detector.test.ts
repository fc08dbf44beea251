/**
 * The detector against the real Deno server and Postgres, tried as an attacker and
 * as an unlucky device would (issue 21, SPEC P13 and P14):
 *
 *  - a thief holding the current token spends the session's budget, and the owner's
 *    spent token still revokes the session (it used to get 429, and nothing happened);
 *  - a copied bound access token used without its key cannot lock the owner out of
 *    sign-out, and keyless callers claiming the owner's address spend nothing of his;
 *  - a bound device whose answer was lost gets the same successor again, at any age,
 *    and concurrently; an unbound one keeps only the grace window;
 *  - SESSION_DPOP=off raises no false mismatch for sessions bound before.
 *
 * Each attack runs with small budgets so that it can finish inside one window.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventsOf, family } from "../support/database-rows.ts";
import { type DeviceKey, deviceKey, proof } from "../support/dpop.ts";
import { type Stack, startStack, type TokenResponse } from "../support/stack.ts";
import { startSessionServer } from "../../scripts/lib/session-server.ts";
import { call } from "../support/api.ts";

const OWNER_IP = { "cf-connecting-ip": "198.51.100.20" };
const THIEF_IP = { "cf-connecting-ip": "203.0.113.66" };

// The attacks run against small budgets: four refreshes a minute per session (forty per
// address). The honest device's retries run without budgets. Both with a grace of 0, so
// that "later than the grace window" needs no waiting.
let limited: Stack;
let unlimited: Stack;
let stack: Stack;
beforeAll(async () => {
  [limited, unlimited] = await Promise.all([
    startStack({ SESSION_RATE_LIMITS: "start=50/60,refresh=4/60", SESSION_REUSE_GRACE: "0" }),
    startStack({ SESSION_RATE_LIMITS: "off", SESSION_REUSE_GRACE: "0" }),
  ]);
});
afterAll(() => Promise.all([limited?.stop(), unlimited?.stop()]));

async function startBound(key: DeviceKey): Promise<TokenResponse> {
  return await stack.start(undefined, { ...OWNER_IP, dpop: await proof(key, "POST", `${stack.server.url}/start`) });
}

async function refreshWith(token: string, key: DeviceKey | null, headers: Record<string, string> = OWNER_IP) {
  const dpop: Record<string, string> = key === null
    ? {}
    : { dpop: await proof(key, "POST", `${stack.server.url}/refresh`) };
  return await stack.refresh(token, { ...headers, ...dpop });
}

const eventTypes = async (userId: string) => (await eventsOf(stack.sql, userId)).map((e) => e.type);

describe("P13: no budget silences the detector", () => {
  beforeAll(() => {
    stack = limited;
  });
  it("a thief who spends the session's budget does not stop the owner's spent token from revoking it", async () => {
    const started = await stack.start(undefined, OWNER_IP);
    const owner = await stack.refresh(started.refresh_token, OWNER_IP);
    expect(owner.status).toBe(200);

    // The thief copied the owner's current token and rotates it until the budget is spent.
    let stolen: string = owner.body.refresh_token;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const rotated = await stack.refresh(stolen, THIEF_IP);
      statuses.push(rotated.status);
      if (rotated.status === 200) stolen = rotated.body.refresh_token;
    }
    expect(statuses).toContain(429);

    // The owner's token (spent by the thief's first rotation) still reaches the detector.
    const replay = await stack.refresh(owner.body.refresh_token, OWNER_IP);
    expect(replay.status, JSON.stringify(replay.body)).toBe(401);
    expect(replay.body.error).toBe("refresh_token_reused");
    expect((await family(stack.sql, started.session.id))?.revoked_reason).toBe("refresh_token_reused");
    expect(await eventTypes(started.user_id)).toContain("refresh_token_reused");
    // And the thief's copy is dead.
    expect((await stack.refresh(stolen, THIEF_IP)).body.error).toBe("session_revoked");
  });
});

describe("P13: strangers have budgets of their own", () => {
  beforeAll(() => {
    stack = limited;
  });
  it("a copied bound access token used without its key cannot lock the owner out of sign-out", async () => {
    const key = await deviceKey();
    const started = await startBound(key);
    // 130 keyless calls with the copied access token, from the owner's own address.
    const keyless = await Promise.all(
      Array.from({ length: 130 }, () =>
        stack.call("/sessions", { token: started.access_token, headers: OWNER_IP })
      ),
    );
    const codes = new Set(keyless.map((r) => r.body.error));
    expect([...codes].sort()).toEqual(["invalid_dpop_proof", "rate_limited"]);

    const signout = await stack.call("/signout", {
      method: "POST",
      json: { scope: "global" },
      headers: {
        ...OWNER_IP,
        authorization: `DPoP ${started.access_token}`,
        dpop: await proof(key, "POST", `${stack.server.url}/signout`, { accessToken: started.access_token }),
      },
    });
    expect(signout.status, JSON.stringify(signout.body)).toBe(204);
    expect((await family(stack.sql, started.session.id))?.revoked_reason).toBe("signed_out");
  });

  it("keyless refreshes claiming the owner's address spend neither its session's nor its address's budget", async () => {
    const key = await deviceKey();
    const started = await startBound(key);
    // 50 keyless calls with the stolen refresh token: forged X-Forwarded-For naming the
    // owner (ignored by the default SESSION_CLIENT_IP), and from behind the owner's own NAT.
    const forged = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        stack.refresh(started.refresh_token, i % 2 ? { "x-forwarded-for": "198.51.100.20" } : OWNER_IP)
      ),
    );
    expect(forged.every((r) => r.status === 401 || r.status === 429)).toBe(true);
    expect(forged.some((r) => r.status === 429)).toBe(true);

    const own = await refreshWith(started.refresh_token, key);
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect((await family(stack.sql, started.session.id))?.revoked_at).toBeNull();
  });
});

describe("P14: an honest device is never a thief", () => {
  beforeAll(() => {
    stack = unlimited;
  });
  it("a bound device whose answer was lost gets the identical successor, after the grace window", async () => {
    const key = await deviceKey();
    const started = await startBound(key);
    const lost = await refreshWith(started.refresh_token, key);
    expect(lost.status).toBe(200);
    // The answer never reached the device: it presents generation 0 again (grace is 0 s).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await refreshWith(started.refresh_token, key);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.refresh_token).toBe(lost.body.refresh_token);
    // Concurrent retries all get that one successor: no branch, no alarm.
    const racing = await Promise.all(Array.from({ length: 3 }, () => refreshWith(started.refresh_token, key)));
    expect(racing.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set(racing.map((r) => r.body.refresh_token))).toEqual(new Set([lost.body.refresh_token]));

    expect(await eventTypes(started.user_id)).not.toContain("refresh_token_reused");
    expect((await family(stack.sql, started.session.id))?.revoked_at).toBeNull();
    // The device goes on from the successor.
    expect((await refreshWith(lost.body.refresh_token, key)).status).toBe(200);
  });

  it("the same token without the key changes nothing, and two generations back with the key is theft", async () => {
    const key = await deviceKey();
    const started = await startBound(key);
    const first = await refreshWith(started.refresh_token, key);
    const keyless = await refreshWith(started.refresh_token, null);
    expect(keyless.body.error).toBe("invalid_dpop_proof");
    expect((await family(stack.sql, started.session.id))?.revoked_at).toBeNull();
    await refreshWith(first.body.refresh_token, key);
    const old = await refreshWith(started.refresh_token, key);
    expect(old.body.error).toBe("refresh_token_reused");
  });

  it("an unbound family keeps only the grace window: its lost answer after it is reuse", async () => {
    const started = await stack.start(undefined, OWNER_IP);
    expect((await stack.refresh(started.refresh_token, OWNER_IP)).status).toBe(200);
    const again = await stack.refresh(started.refresh_token, OWNER_IP);
    expect(again.body.error).toBe("refresh_token_reused");
  });
});

describe("SESSION_DPOP=off", () => {
  beforeAll(() => {
    stack = unlimited;
  });
  it("keeps sessions bound before bound: no false mismatch, nobody revoked", async () => {
    const key = await deviceKey();
    const started = await startBound(key);
    const off = await startSessionServer({ ...stack.settings, SESSION_DPOP: "off", SESSION_DPOP_MISMATCH: "revoke" });
    try {
      const url = `${off.url}/refresh`;
      const refreshed = await call(off.url, "/refresh", {
        json: { refresh_token: started.refresh_token },
        headers: { ...OWNER_IP, dpop: await proof(key, "POST", url) },
      });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      expect(refreshed.body.token_type).toBe("DPoP");
      const list = await call(off.url, "/sessions", {
        headers: {
          authorization: `DPoP ${refreshed.body.access_token}`,
          dpop: await proof(key, "GET", `${off.url}/sessions`, { accessToken: refreshed.body.access_token }),
        },
      });
      expect(list.status).toBe(200);
      expect(await eventTypes(started.user_id)).not.toContain("dpop_key_mismatch");
      expect((await family(stack.sql, started.session.id))?.revoked_at).toBeNull();

      // A new session started while it is off is not bound, whatever the client offers.
      const fresh = await call(off.url, "/start", {
        method: "POST",
        token: await stack.clerk.token({ sub: started.user_id }),
        headers: { dpop: await proof(key, "POST", `${off.url}/start`) },
      });
      expect(fresh.status).toBe(200);
      expect(fresh.body.token_type).toBe("bearer");
    } finally {
      await off.stop();
    }
  });
});
