/**
 * Every start and revocation is announced on the `sessionguard` notification
 * channel as it commits, so a server that LISTENs learns of it at once. Driven
 * through the real session function; the listener is a plain Postgres LISTEN.
 *
 * Any role that can connect can LISTEN, so an announcement carries ids only
 * (issue 12, item 10): the listener reads the event itself with its own
 * privileges.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseUrl } from "../support/context.ts";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { type Stack, startStack } from "../support/stack.ts";

interface Announcement {
  id: number;
  session_id: string;
  user_id: string;
}

describe("pg_notify announcements", () => {
  let stack: Stack;
  let listener: postgres.Sql;
  const heard: Announcement[] = [];

  beforeAll(async () => {
    stack = await startStack({ SESSION_REUSE_GRACE: "0" });
    listener = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
    await listener.listen("sessionguard", (payload) => heard.push(JSON.parse(payload)));
  });
  afterAll(async () => {
    await listener?.end({ timeout: 1 });
    await stack?.stop();
  });

  async function heardFor(userId: string, count: number): Promise<Announcement[]> {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const mine = heard.filter((a) => a.user_id === userId);
      if (mine.length >= count) return mine;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return heard.filter((a) => a.user_id === userId);
  }

  it("announces a start, a theft and a sign-out, in order, with the event's own id and words", async () => {
    const userId = clerkId("user");
    const first = await stack.start(userId);
    const second = await stack.start(userId);
    expect((await stack.refresh(first.refresh_token)).status).toBe(200);
    const replay = await stack.refresh(first.refresh_token);
    expect(replay.body.error).toBe("refresh_token_reused");
    const signout = await stack.call("/signout", { method: "POST", token: second.access_token, json: {} });
    expect(signout.status).toBe(204);

    const mine = await heardFor(userId, 4);
    for (const announcement of mine) {
      expect(Object.keys(announcement).sort()).toEqual(["id", "session_id", "user_id"]);
    }
    const stored = await stack.sql<{ id: string; type: string; session_id: string }[]>`
      select id::text as id, type, session_id from sessionguard.events where user_id = ${userId} order by id`;
    expect(mine.map((a) => [String(a.id), a.session_id])).toEqual(stored.map((e) => [e.id, e.session_id]));
    expect(stored.map((e) => [e.type, e.session_id])).toEqual([
      ["session_started", first.session.id],
      ["session_started", second.session.id],
      ["refresh_token_reused", first.session.id],
      ["signed_out", second.session.id],
    ]);
  });

  it("carries no event content: no type, description, ip or user agent", async () => {
    const userId = clerkId("user");
    await stack.call("/start", {
      method: "POST",
      token: await stack.clerk.token({ sub: userId }),
      headers: { "user-agent": "Secret-Agent/1.0", "cf-connecting-ip": "192.0.2.77" },
    });
    const [announcement] = await heardFor(userId, 1);
    const text = JSON.stringify(announcement);
    for (const leak of ["session_started", "signed in", "Secret-Agent", "192.0.2.77"]) {
      expect(text).not.toContain(leak);
    }
  });

  it("announces nothing for a refused forgery", async () => {
    const userId = clerkId("user");
    const tokens = await stack.start(userId);
    await heardFor(userId, 1);
    const [kid, family, , mac] = tokens.refresh_token.split(".");
    const forged = await stack.refresh(`${kid}.${family}.5.${mac}`);
    expect(forged.body.error).toBe("invalid_refresh_token");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard.filter((a) => a.user_id === userId)).toHaveLength(1);
  });
});
