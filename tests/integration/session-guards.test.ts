/**
 * Abuse controls against the real Deno server and Postgres: rate limits on
 * /start and /refresh (per user or family, and per ip with a larger budget)
 * answer 429 with Retry-After and change nothing. (The theft response beyond
 * the database is in theft-response-e2e.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { family } from "../support/database-rows.ts";
import { type Stack, startStack } from "../support/stack.ts";

const ip = (n: number) => ({ "cf-connecting-ip": `198.51.100.${n}` });

describe("rate limits", () => {
  let stack: Stack;
  beforeAll(async () => {
    // Windows are fixed and aligned to the epoch: an hour-long one is not crossed mid-test.
    stack = await startStack({ SESSION_RATE_LIMITS: "start=2/3600,refresh=3/2" });
  });
  afterAll(() => stack?.stop());

  it("refuses a user's third /start in the window with 429 and Retry-After, and starts nothing", async () => {
    const user = clerkId("user");
    await stack.start(user, ip(1));
    await stack.start(user, ip(2));
    const third = await stack.call("/start", {
      method: "POST",
      token: await stack.clerk.token({ sub: user }),
      headers: ip(3),
    });
    expect(third.status).toBe(429);
    expect(third.body.error).toBe("rate_limited");
    const wait = Number(third.headers.get("retry-after"));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(3600);
    const [{ n }] = await stack
      .sql`select count(*)::int as n from sessionguard.families where user_id = ${user}`;
    expect(n).toBe(2);
  });

  it("gives one ip ten times a user's /start budget, then refuses it; another ip is unaffected", async () => {
    const results = [];
    for (let i = 0; i < 21; i++) {
      const response = await stack.call("/start", {
        method: "POST",
        token: await stack.clerk.token({ sub: clerkId("user") }),
        headers: ip(50),
      });
      results.push(response.status);
    }
    expect(results.slice(0, 20).every((status) => status === 200)).toBe(true);
    expect(results[20]).toBe(429);
    await stack.start(clerkId("user"), ip(51));
  });

  it("refuses the fourth refresh of a family in the window without rotating; the same token works later", async () => {
    let tokens = await stack.start(clerkId("user"), ip(60));
    // Begin just after a 2 s window opens, so the four refreshes share one window.
    await new Promise((resolve) => setTimeout(resolve, 2000 - (Date.now() % 2000) + 50));
    for (let i = 0; i < 3; i++) {
      const response = await stack.refresh(tokens.refresh_token, ip(60));
      expect(response.status).toBe(200);
      tokens = response.body;
    }
    const before = await family(stack.sql, tokens.session.id);
    const limited = await stack.refresh(tokens.refresh_token, ip(60));
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await family(stack.sql, tokens.session.id)).toEqual(before);

    await new Promise((resolve) =>
      setTimeout(resolve, Number(limited.headers.get("retry-after")) * 1000 + 100)
    );
    const later = await stack.refresh(tokens.refresh_token, ip(60));
    expect(later.status).toBe(200);
    expect((await family(stack.sql, tokens.session.id))?.revoked_at).toBeNull();
  });
});

describe("rate limits under concurrency", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ SESSION_RATE_LIMITS: "start=20/3600,refresh=3/3600" });
  });
  afterAll(() => stack?.stop());

  it("counts concurrent refreshes of one family exactly: of 10 at once, 3 pass", async () => {
    const tokens = await stack.start(clerkId("user"), ip(70));
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => stack.refresh(tokens.refresh_token, ip(70))),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    // The three that passed got one successor (the grace window), not three.
    const successors = new Set(responses.filter((r) => r.status === 200).map((r) => r.body.refresh_token));
    expect(successors.size).toBe(1);
  });
});

describe("rate limits behind a proxy that appends the client's address", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      SESSION_RATE_LIMITS: "start=1/3600,refresh=100/3600",
      SESSION_CLIENT_IP: "forwarded-last",
    });
  });
  afterAll(() => stack?.stop());

  it("cannot be dodged by forging a leading X-Forwarded-For address", async () => {
    const statuses = [];
    for (let i = 0; i < 11; i++) {
      const response = await stack.call("/start", {
        method: "POST",
        token: await stack.clerk.token({ sub: clerkId("user") }),
        headers: { "x-forwarded-for": `192.0.2.${i}, 198.51.100.80` },
      });
      statuses.push(response.status);
    }
    // One ip's budget is ten times the user's (1): the eleventh start from it is refused,
    // whatever the client wrote in front.
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    expect(statuses[10]).toBe(429);
  });
});
