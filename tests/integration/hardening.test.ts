/**
 * Findings of the security review (issue 12), each tried as an attack against
 * the real Deno server and Postgres:
 *  1. a thief replaying any old token of a device-bound family, without the key
 *     and from many forged addresses, can neither lock the owner out nor flood
 *     the user's events;
 *  5. /start checks the Clerk token and the proof before the budgets, counts the
 *     budgets before it writes anything, and remembers its DPoP proof; every route
 *     authenticated by access token has a limit;
 *  8. /start takes Clerk session tokens only (not JWT-template tokens), and an
 *     impersonated session records its actor and lives shorter.
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { deviceKey, proof } from "../support/dpop.ts";
import { type Stack, startStack, type TokenResponse } from "../support/stack.ts";

let counter = 0;
/** A fresh client address for each caller, so per-ip budgets never meet across tests. */
const from = (): Record<string, string> => {
  counter++;
  return { "cf-connecting-ip": `10.${(counter >> 16) & 255}.${(counter >> 8) & 255}.${counter & 255}` };
};

describe("item 1: a thief without the device key", () => {
  let stack: Stack;
  beforeAll(async () => {
    // An hour-long window (aligned to the epoch) is not crossed mid-test.
    stack = await startStack({ SESSION_RATE_LIMITS: "start=100/3600,refresh=5/3600" });
  });
  afterAll(() => stack?.stop());

  it("replaying a spent token from 40 forged addresses neither locks the owner out nor floods events", async () => {
    const device = await deviceKey();
    const thief = await deviceKey();
    const userId = clerkId("user");
    const refreshUrl = `${stack.server.url}/refresh`;
    const started = await stack.start(userId, { ...from(), dpop: await proof(device, "POST", `${stack.server.url}/start`) });
    const owner = from();
    const first = await stack.refresh(started.refresh_token, { ...owner, dpop: await proof(device, "POST", refreshUrl) });
    expect(first.status).toBe(200);

    // The spent generation 0, without a proof or with the thief's own key, each from
    // another forged X-Forwarded-For address, all at once.
    const replays = await Promise.all(
      Array.from({ length: 40 }, async (_, i) =>
        stack.refresh(started.refresh_token, {
          ...from(),
          ...(i % 2 === 0 ? {} : { dpop: await proof(thief, "POST", refreshUrl) }),
        })
      ),
    );
    for (const replay of replays) {
      expect([401, 429]).toContain(replay.status);
      expect(["invalid_dpop_proof", "rate_limited"]).toContain(replay.body.error);
    }
    expect(replays.some((r) => r.status === 429)).toBe(true); // the thief has a budget too

    // The owner, with the very same token and its key, carries on.
    const next = await stack.refresh(first.body.refresh_token, { ...owner, dpop: await proof(device, "POST", refreshUrl) });
    expect(next.status, JSON.stringify(next.body)).toBe(200);

    const [{ n }] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from sessionguard.events
      where user_id = ${userId} and type = 'dpop_key_mismatch'`;
    expect(n).toBe(1);
    const [{ proofs }] = await stack.sql<{ proofs: number }[]>`
      select count(*)::int as proofs from sessionguard.dpop_proofs where jkt = ${thief.jkt}`;
    expect(proofs).toBe(0);
  });
});

describe("item 5: checks before budgets, budgets before writes, the /start proof remembered, every route limited", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ SESSION_RATE_LIMITS: "start=2/3600,refresh=4/3600" });
  });
  afterAll(() => stack?.stop());

  it("/start refuses a bad Clerk token before it looks at the DPoP proof", async () => {
    const key = await deviceKey();
    const response = await stack.call("/start", {
      method: "POST",
      token: "not-a-jwt",
      // A proof for another URL: refused too, but only after the Clerk token.
      headers: { ...from(), dpop: await proof(key, "POST", `${stack.server.url}/refresh`) },
    });
    expect(response.status).toBe(401);
    expect(response.body.error).toBe("invalid_token");
  });

  it("/start refuses a bad DPoP proof before the budgets, and counts them before it remembers a proof", async () => {
    const userId = clerkId("user");
    const key = await deviceKey();
    const token = await stack.clerk.token({ sub: userId });
    // A proof for another URL: refused, spending none of the user's two starts.
    const bad = await stack.call("/start", {
      method: "POST",
      token,
      headers: { ...from(), dpop: await proof(key, "POST", `${stack.server.url}/refresh`) },
    });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe("invalid_dpop_proof");
    await stack.start(userId, from());
    await stack.start(userId, from());
    // Over the budget with a good proof: refused before its jti is written.
    const jti = `over-budget-${userId}`;
    const third = await stack.call("/start", {
      method: "POST",
      token,
      headers: { ...from(), dpop: await proof(key, "POST", `${stack.server.url}/start`, { jti }) },
    });
    expect(third.status).toBe(429);
    expect(third.body.error).toBe("rate_limited");
    const [{ n }] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from sessionguard.dpop_proofs where jti = ${jti}`;
    expect(n).toBe(0);
  });

  it("/start refuses a DPoP proof it has already seen, and starts nothing", async () => {
    const userId = clerkId("user");
    const key = await deviceKey();
    const dpop = await proof(key, "POST", `${stack.server.url}/start`);
    const first = await stack.call("/start", {
      method: "POST",
      token: await stack.clerk.token({ sub: userId }),
      headers: { ...from(), dpop },
    });
    expect(first.status).toBe(200);
    const replay = await stack.call("/start", {
      method: "POST",
      token: await stack.clerk.token({ sub: userId }),
      headers: { ...from(), dpop },
    });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe("invalid_dpop_proof");
    const [{ n }] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from sessionguard.families where user_id = ${userId}`;
    expect(n).toBe(1);
  });

  /** Spends the session's budget (4 per hour) on GET /events. */
  async function exhaust(tokens: TokenResponse, headers: Record<string, string>) {
    for (let i = 0; i < 4; i++) {
      const response = await stack.call("/events", { token: tokens.access_token, headers });
      expect(response.status).toBe(200);
    }
  }

  it("limits GET /sessions and GET /events per session", async () => {
    const headers = from();
    const tokens = await stack.start(clerkId("user"), headers);
    await exhaust(tokens, headers);
    for (const path of ["/sessions", "/events"]) {
      const response = await stack.call(path, { token: tokens.access_token, headers });
      expect(response.status).toBe(429);
      expect(response.body.error).toBe("rate_limited");
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    }
  });

  it("limits POST /signout and DELETE /sessions/<id>, which then change nothing", async () => {
    const headers = from();
    const userId = clerkId("user");
    const tokens = await stack.start(userId, headers);
    const other = await stack.start(userId, from());
    await exhaust(tokens, headers);
    const removal = await stack.call(`/sessions/${other.session.id}`, {
      method: "DELETE",
      token: tokens.access_token,
      headers,
    });
    expect(removal.status).toBe(429);
    const signout = await stack.call("/signout", {
      method: "POST",
      token: tokens.access_token,
      json: { scope: "global" },
      headers,
    });
    expect(signout.status).toBe(429);
    const [{ live }] = await stack.sql<{ live: number }[]>`
      select count(*)::int as live from sessionguard.families where user_id = ${userId} and revoked_at is null`;
    expect(live).toBe(2);
  });
});

describe("item 8: only Clerk session tokens; impersonation recorded and short", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ SESSION_IMPERSONATION_LIFETIME: "900" });
  });
  afterAll(() => stack?.stop());

  async function startWith(claims: Record<string, unknown>) {
    return await stack.call("/start", { method: "POST", token: await stack.clerk.token(claims), headers: from() });
  }

  it("refuses a JWT-template token that carries a sid (no v, no fva) and one living longer than 60 s", async () => {
    const userId = clerkId("user");
    const t = Math.floor(Date.now() / 1000);
    const refused = [
      // A template's shape: its default claims plus a copied session id, nothing session-only.
      { sub: userId, v: undefined, fva: undefined, sts: undefined, jti: "10db7f531a90cb2faea4" },
      { sub: userId, v: undefined, fva: undefined }, // neither a v2 nor a v1 session token
      { sub: userId, fva: undefined },
      { sub: userId, v: "2" },
      { sub: userId, fva: "0,-1" },
      { sub: userId, iat: t, nbf: t - 5, exp: t + 3600 }, // a long-lived template
    ];
    for (const claims of refused) {
      const response = await startWith(claims);
      expect(response.status, JSON.stringify(claims)).toBe(401);
      expect(response.body.error).toBe("invalid_token");
    }
    const [{ n }] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from sessionguard.families where user_id = ${userId}`;
    expect(n).toBe(0);
    // A Clerk v1 session token (no v, but fva) is still a session token.
    expect((await startWith({ sub: userId, v: undefined })).status).toBe(200);
  });

  it("records the impersonator on the family and its events, and ends the session sooner", async () => {
    const userId = clerkId("user");
    const actor = clerkId("user");
    const response = await startWith({
      sub: userId,
      act: { iss: "https://dashboard.clerk.com", sid: clerkId("sess"), sub: actor },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const body = response.body as TokenResponse;
    const t = Math.floor(Date.now() / 1000);
    expect(body.session.expires_at).toBeGreaterThan(t + 890);
    expect(body.session.expires_at).toBeLessThanOrEqual(t + 905);
    expect(decodeJwt(body.access_token).exp).toBeLessThanOrEqual(body.session.expires_at);
    const [row] = await stack.sql<{ actor_id: string }[]>`
      select actor_id from sessionguard.families where id = ${body.session.id}`;
    expect(row.actor_id).toBe(actor);
    const events = await stack.sql<{ actor_id: string; description: string }[]>`
      select actor_id, description from sessionguard.events where session_id = ${body.session.id}`;
    expect(events).toHaveLength(1);
    expect(events[0].actor_id).toBe(actor);
    expect(events[0].description).toContain(actor);
  });

  it("refuses an act claim that names no actor", async () => {
    for (const act of [{ iss: "https://dashboard.clerk.com" }, "user_x", { sub: "" }]) {
      const response = await startWith({ act });
      expect(response.status, JSON.stringify(act)).toBe(401);
      expect(response.body.error).toBe("invalid_token");
    }
  });
});
