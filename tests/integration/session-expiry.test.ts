/**
 * P8: the idle timeout and the absolute lifetime end a session on refresh, on
 * every access-token route and in RLS (P7), with short settings and real time.
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { family, type Sql } from "../support/database-rows.ts";
import { type Stack, startStack } from "../support/stack.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sessionActive(sql: Sql, accessToken: string): Promise<boolean> {
  return await sql.begin(async (tx) => {
    await tx`set local role authenticated`;
    await tx`select set_config('request.jwt.claims', ${JSON.stringify(decodeJwt(accessToken))}, true)`;
    const [row] = await tx`select sessionguard.session_active() as active`;
    return row.active as boolean;
  });
}

describe("lifetimes (idle 2 s, absolute 5 s)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ SESSION_IDLE_TIMEOUT: "2", SESSION_ABSOLUTE_LIFETIME: "5" });
  });
  afterAll(() => stack?.stop());

  it("caps the access token at the session's end", async () => {
    const started = await stack.start();
    expect(started.expires_in).toBeLessThanOrEqual(5);
    expect(started.expires_at).toBeLessThanOrEqual(started.session.expires_at);
  });

  it("ends a session left idle: refresh, routes and RLS all refuse it", async () => {
    const a = await stack.start();
    const b = await stack.start();
    expect(await sessionActive(stack.sql, a.access_token)).toBe(true);
    await sleep(2_300);
    expect(await sessionActive(stack.sql, a.access_token)).toBe(false);
    const listing = await stack.call("/sessions", { token: b.access_token });
    expect(listing.status).toBe(401);
    expect(listing.body.error).toBe("session_expired");

    const refresh = await stack.refresh(a.refresh_token);
    expect(refresh.status).toBe(401);
    expect(refresh.body.error).toBe("session_expired");
    expect((await family(stack.sql, a.session.id))?.revoked_reason).toBe("session_expired");
  });

  it("keeps an active session alive past the idle timeout, then ends it at the absolute lifetime", async () => {
    let current = await stack.start();
    const startedAt = Date.now();
    while (Date.now() - startedAt < 3_000) {
      await sleep(1_200);
      const next = await stack.refresh(current.refresh_token);
      expect(next.status, JSON.stringify(next.body)).toBe(200);
      current = next.body;
    }
    expect(await sessionActive(stack.sql, current.access_token)).toBe(true);
    // The last refresh was at about 3.6 s, so only the absolute lifetime (5 s) can end it at 5.3 s.
    await sleep(Math.max(0, startedAt + 5_300 - Date.now()));
    const late = await stack.refresh(current.refresh_token);
    expect(late.status).toBe(401);
    expect(late.body.error).toBe("session_expired");
    expect(await sessionActive(stack.sql, current.access_token)).toBe(false);
  });
});
