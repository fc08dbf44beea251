/**
 * Refresh-token rotation against the real function and Postgres:
 * one-time tokens (P1), theft detection in both scopes (P2), benign races
 * (P3), forgeries that revoke nothing (P4), nothing usable at rest (P5).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRefreshTokens } from "../../functions/refresh-token.ts";
import { eventsOf, familiesOf, family, userState } from "../support/database-rows.ts";
import { refreshSecret } from "../../scripts/lib/throwaway-keys.ts";
import { type Stack, startStack, type TokenResponse } from "../support/stack.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Refreshes and expects success. */
async function rotate(stack: Stack, token: string): Promise<TokenResponse> {
  const response = await stack.refresh(token);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

describe("rotation (grace 10 s, family scope)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.stop());

  it("answers /start with the token response SPEC describes", async () => {
    const started = await stack.start();
    expect(Object.keys(started).sort()).toEqual(
      ["access_token", "expires_at", "expires_in", "refresh_token", "session", "token_type", "user_id"],
    );
    expect(started.token_type).toBe("bearer");
    expect(started.expires_in).toBe(600);
    expect(Math.abs(started.expires_at - (Date.now() / 1000 + 600))).toBeLessThan(5);
    expect(started.refresh_token.split(".")[1]).toBe(started.session.id);
    expect(started.session.expires_at - started.expires_at).toBeGreaterThan(2_591_000 - 600);
    const [row] = await familiesOf(stack.sql, started.user_id);
    expect(row).toMatchObject({ id: started.session.id, generation: "0", revoked_at: null });
    expect(row.clerk_session_id).toMatch(/^sess_/);
  });

  it("P1: a refresh returns a new token and spends the old one", async () => {
    const t0 = await stack.start();
    const t1 = await rotate(stack, t0.refresh_token);
    expect(t1.refresh_token).not.toBe(t0.refresh_token);
    expect(t1.session.id).toBe(t0.session.id);
    const t2 = await rotate(stack, t1.refresh_token);
    expect((await family(stack.sql, t0.session.id))?.generation).toBe("2");
    // t0 is two rotations old: no grace, it is spent for good.
    const replay = await stack.refresh(t0.refresh_token);
    expect(replay.body.error).toBe("refresh_token_reused");
    expect((await stack.refresh(t2.refresh_token)).body.error).toBe("session_revoked");
  });

  it("P2: a replayed spent token revokes the family, logs ip and user agent, spares other sessions", async () => {
    const first = await stack.start();
    const second = await stack.start(first.user_id);
    const t1 = await rotate(stack, first.refresh_token);
    await rotate(stack, t1.refresh_token);

    const replay = await stack.refresh(first.refresh_token, {
      "cf-connecting-ip": "203.0.113.9",
      "user-agent": "ThiefBrowser/1.0",
    });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe("refresh_token_reused");
    expect(replay.headers.get("www-authenticate")).toContain('error="refresh_token_reused"');

    const rows = await familiesOf(stack.sql, first.user_id);
    expect(rows.find((r) => r.id === first.session.id)?.revoked_reason).toBe("refresh_token_reused");
    expect(rows.find((r) => r.id === second.session.id)?.revoked_at).toBeNull();
    const theft = (await eventsOf(stack.sql, first.user_id)).filter((e) => e.type === "refresh_token_reused");
    expect(theft).toEqual([
      {
        type: "refresh_token_reused",
        session_id: first.session.id,
        ip: "203.0.113.9",
        user_agent: "ThiefBrowser/1.0",
      },
    ]);
    await rotate(stack, second.refresh_token);

    const events = await stack.call("/events", { token: (await stack.start(first.user_id)).access_token });
    expect(events.status).toBe(200);
    expect(events.body.events.map((e: { type: string }) => e.type)).toContain("refresh_token_reused");
  });

  it("P3: 20 concurrent refreshes with one token all get the one identical successor", async () => {
    const t0 = await stack.start();
    const responses = await Promise.all(Array.from({ length: 20 }, () => stack.refresh(t0.refresh_token)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const successors = new Set(responses.map((r) => r.body.refresh_token));
    expect(successors.size).toBe(1);
    const row = await family(stack.sql, t0.session.id);
    expect(row).toMatchObject({ generation: "1", revoked_at: null });
    // The successor is the real one: it rotates on.
    const t2 = await rotate(stack, [...successors][0]);
    expect(t2.refresh_token.split(".")[2]).toBe("2");
  });

  it("P3: only the immediately previous token has grace; an older one is reuse", async () => {
    const t0 = await stack.start();
    const t1 = await rotate(stack, t0.refresh_token);
    const t2 = await rotate(stack, t1.refresh_token);
    const retry = await rotate(stack, t1.refresh_token);
    expect(retry.refresh_token).toBe(t2.refresh_token);
    expect(retry.access_token.split(".")).toHaveLength(3);
    expect((await stack.refresh(t0.refresh_token)).body.error).toBe("refresh_token_reused");
    expect((await family(stack.sql, t0.session.id))?.revoked_reason).toBe("refresh_token_reused");
  });

  it("P4: forged, truncated, other-family, wrong-secret and garbage tokens revoke nothing", async () => {
    const victim = await stack.start();
    const t1 = await rotate(stack, victim.refresh_token);
    const other = await stack.start();
    const before = await userState(stack.sql, victim.user_id);

    const [kid, id, generation, mac] = t1.refresh_token.split(".");
    const otherMac = other.refresh_token.split(".")[3];
    const foreign = await createRefreshTokens([refreshSecret()], stack.settings.SESSION_ISSUER);
    const forgeries = [
      `${kid}.${id}.${generation}.${"A".repeat(43)}`, // forged MAC naming the live generation
      `${kid}.${id}.0.${mac}`, // previous generation with the current MAC
      `${kid}.${id}.${generation}.${otherMac}`, // another family's MAC
      t1.refresh_token.slice(0, -2),
      t1.refresh_token.slice(0, 50),
      await foreign.mint(id, 0), // wrong secret, previous generation: would be "reuse" if believed
      await foreign.mint(id, 1),
      `${kid}.${randomUUID()}.0.${mac}`,
      "",
      "null",
      "garbage",
      "x".repeat(4000),
      "'; update sessionguard.families set revoked_at = now(); --",
      "\u0000\u202e\ud83d\ude00",
    ];
    for (const token of forgeries) {
      const response = await stack.refresh(token);
      expect(response.status, token).toBe(401);
      expect(response.body.error, token).toBe("invalid_refresh_token");
    }
    expect(await userState(stack.sql, victim.user_id)).toBe(before);
    await rotate(stack, t1.refresh_token);
  });

  it("P4: a correctly signed token for an unknown family or a future generation revokes nothing", async () => {
    const real = await createRefreshTokens(
      stack.settings.SESSION_REFRESH_SECRET.split(","),
      stack.settings.SESSION_ISSUER,
    );
    const t0 = await stack.start();
    const before = await userState(stack.sql, t0.user_id);
    for (const token of [await real.mint(randomUUID(), 0), await real.mint(t0.session.id, 5)]) {
      const response = await stack.refresh(token);
      expect(response.body.error).toBe("invalid_refresh_token");
    }
    expect(await userState(stack.sql, t0.user_id)).toBe(before);
    await rotate(stack, t0.refresh_token);
  });

  it("P5: the database holds no refresh token or MAC", async () => {
    const t0 = await stack.start();
    const t1 = await rotate(stack, t0.refresh_token);
    for (const token of [t0.refresh_token, t1.refresh_token]) {
      const mac = token.split(".")[3];
      const [{ hits }] = await stack.sql`
        select (select count(*) from sessionguard.families f where f::text like ${"%" + mac + "%"})
             + (select count(*) from sessionguard.events e where e::text like ${"%" + mac + "%"}) as hits`;
      expect(Number(hits)).toBe(0);
    }
  });
});

describe("rotation with no grace and user theft scope", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ SESSION_REUSE_GRACE: "0", SESSION_THEFT_SCOPE: "user" });
  });
  afterAll(() => stack?.stop());

  it("P2 user scope: reuse revokes every session of the user, not other users'", async () => {
    const a = await stack.start();
    const b = await stack.start(a.user_id);
    const c = await stack.start(a.user_id);
    const bystander = await stack.start();
    await rotate(stack, a.refresh_token);
    expect((await stack.refresh(a.refresh_token)).body.error).toBe("refresh_token_reused");
    const rows = await familiesOf(stack.sql, a.user_id);
    expect(rows.map((r) => r.id).sort()).toEqual([a.session.id, b.session.id, c.session.id].sort());
    expect(rows.every((r) => r.revoked_reason === "refresh_token_reused")).toBe(true);
    expect((await stack.refresh(b.refresh_token)).body.error).toBe("session_revoked");
    expect((await family(stack.sql, bystander.session.id))?.revoked_at).toBeNull();
  });

  it("P3 with grace 0: of 20 concurrent refreshes one wins, a repeat is theft", async () => {
    const t0 = await stack.start();
    const responses = await Promise.all(Array.from({ length: 20 }, () => stack.refresh(t0.refresh_token)));
    const ok = responses.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    const errors = responses.filter((r) => r.status !== 200).map((r) => r.body.error);
    expect(errors).toContain("refresh_token_reused");
    expect(errors.every((e) => e === "refresh_token_reused" || e === "session_revoked")).toBe(true);
    expect((await family(stack.sql, t0.session.id))?.revoked_reason).toBe("refresh_token_reused");
    expect((await stack.refresh(ok[0].body.refresh_token)).body.error).toBe("session_revoked");
  });
});

describe("rotation after the grace window", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ SESSION_REUSE_GRACE: "1" });
  });
  afterAll(() => stack?.stop());

  it("P3: a retry after the window is reuse, and 20 concurrent ones leave the family revoked", async () => {
    const t0 = await stack.start();
    const t1 = await rotate(stack, t0.refresh_token);
    await sleep(1_300);
    const responses = await Promise.all(Array.from({ length: 20 }, () => stack.refresh(t0.refresh_token)));
    expect(responses.some((r) => r.status === 200)).toBe(false);
    const errors = responses.map((r) => r.body.error);
    expect(errors.filter((e) => e === "refresh_token_reused").length).toBeGreaterThanOrEqual(1);
    expect(errors.every((e) => e === "refresh_token_reused" || e === "session_revoked")).toBe(true);
    expect(await family(stack.sql, t0.session.id)).toMatchObject({
      generation: "1",
      revoked_reason: "refresh_token_reused",
    });
    expect((await stack.refresh(t1.refresh_token)).body.error).toBe("session_revoked");
  });
});
