/**
 * The `clerk-webhook` function against the real Deno entrypoint and Postgres:
 * each Clerk event revokes what it should, a delivery acts once however often
 * (and however concurrently) it arrives, and anything not signed by the
 * endpoint's secret — or stale, tampered, malformed — changes nothing. Families
 * are started through the real session function with Clerk-shaped tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseUrl } from "../support/context.ts";
import { type ApiResponse, call } from "../support/api.ts";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import {
  clerkEvent,
  type ClerkWebhookServer,
  failingClerkWebhookStart,
  newDeliveryId,
  newWebhookSecret,
  signDelivery,
  startClerkWebhookServer,
} from "../support/clerk-webhook-server.ts";
import { eventsOf, familiesOf, userState } from "../support/database-rows.ts";
import { type Stack, startStack, type TokenResponse } from "../support/stack.ts";

let stack: Stack;
let webhook: ClerkWebhookServer;
let secret: string;

beforeAll(async () => {
  secret = newWebhookSecret();
  stack = await startStack();
  webhook = await startClerkWebhookServer({ CLERK_WEBHOOK_SECRET: secret, DATABASE_URL: testDatabaseUrl() });
});
afterAll(async () => {
  await Promise.allSettled([webhook?.stop(), stack?.stop()]);
});

/** Starts a family for `userId` from Clerk session `sid` through the session function. */
async function startFamily(userId: string, sid: string): Promise<TokenResponse> {
  const response = await stack.call("/start", {
    method: "POST",
    token: await stack.clerk.token({ sub: userId, sid }),
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

/** Posts a signed delivery of `event` (options as for {@link signDelivery}). */
function deliver(event: unknown, options: Parameters<typeof signDelivery>[2] = {}): Promise<ApiResponse> {
  const signed = signDelivery(secret, event, options);
  return post(signed.body, signed.headers);
}

function post(body: string, headers: Record<string, string>, method = "POST"): Promise<ApiResponse> {
  return call(webhook.url, "", { method, raw: method === "GET" ? undefined : body, headers });
}

async function deliveryRecorded(id: string): Promise<boolean> {
  const [row] = await stack
    .sql`select count(*)::int as n from sessionguard.webhook_deliveries where id = ${id}`;
  return row.n > 0;
}

const sessionEnded = (sid: string, userId: string, type = "session.ended") =>
  clerkEvent(type, {
    id: sid,
    object: "session",
    status: type.split(".")[1],
    user_id: userId,
    client_id: "client_x",
  });

describe("Clerk events", () => {
  it.each(["session.ended", "session.revoked", "session.removed"])(
    "%s revokes every family started from that Clerk session and nothing else",
    async (type) => {
      const userId = clerkId("user");
      const [sid, otherSid] = [clerkId("sess"), clerkId("sess")];
      const a = await startFamily(userId, sid);
      const b = await startFamily(userId, sid);
      const other = await startFamily(userId, otherSid);

      const response = await deliver(sessionEnded(sid, userId, type));
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body).toEqual({ result: "applied", revoked: 2 });

      const rows = await familiesOf(stack.sql, userId);
      expect(rows.filter((r) => r.revoked_reason === "clerk_session_ended").map((r) => r.id).sort())
        .toEqual([a.session.id, b.session.id].sort());
      expect(rows.find((r) => r.id === other.session.id)?.revoked_at).toBeNull();
      expect((await eventsOf(stack.sql, userId)).filter((e) => e.type === "clerk_session_ended"))
        .toHaveLength(2);

      expect((await stack.refresh(a.refresh_token)).body.error).toBe("session_revoked");
      expect((await stack.call("/sessions", { token: b.access_token })).body.error).toBe("session_revoked");
      expect((await stack.refresh(other.refresh_token)).status).toBe(200);
    },
  );

  it("after session.ended, /start refuses a still-valid Clerk token of that session; other sessions start", async () => {
    const userId = clerkId("user");
    const sid = clerkId("sess");
    // Minted before the session ended and still within its 60 s life, as a thief might hold it.
    const leftover = await stack.clerk.token({ sub: userId, sid });
    await startFamily(userId, sid);
    expect((await deliver(sessionEnded(sid, userId))).body.result).toBe("applied");

    const refused = await stack.call("/start", { method: "POST", token: leftover });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe("invalid_token");
    expect(refused.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect((await familiesOf(stack.sql, userId)).filter((r) => r.revoked_at === null)).toHaveLength(0);

    await startFamily(userId, clerkId("sess"));
  });

  it("user.deleted revokes all of the user's families, spares other users, and blocks /start for the user", async () => {
    const userId = clerkId("user");
    const bystander = clerkId("user");
    await startFamily(userId, clerkId("sess"));
    await startFamily(userId, clerkId("sess"));
    const kept = await startFamily(bystander, clerkId("sess"));

    const response = await deliver(clerkEvent("user.deleted", { id: userId, object: "user", deleted: true }));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ result: "applied", revoked: 2 });
    expect((await familiesOf(stack.sql, userId)).map((r) => r.revoked_reason)).toEqual([
      "user_deleted",
      "user_deleted",
    ]);
    expect((await eventsOf(stack.sql, userId)).filter((e) => e.type === "user_deleted")).toHaveLength(2);
    expect((await stack.refresh(kept.refresh_token)).status).toBe(200);

    const fresh = await stack.call("/start", {
      method: "POST",
      token: await stack.clerk.token({ sub: userId, sid: clerkId("sess") }),
    });
    expect(fresh.status).toBe(401);
    expect(fresh.body.error).toBe("invalid_token");
  });

  it.each(["user.created", "session.created", "email.created", "organization.created"])(
    "%s is acknowledged and ignored",
    async (type) => {
      const userId = clerkId("user");
      const sid = clerkId("sess");
      const started = await startFamily(userId, sid);
      const before = await userState(stack.sql, userId);
      const response = await deliver(
        clerkEvent(type, { id: type.startsWith("session") ? sid : userId, user_id: userId }),
      );
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ result: "ignored", revoked: 0 });
      expect(await userState(stack.sql, userId)).toBe(before);
      expect((await stack.refresh(started.refresh_token)).status).toBe(200);
    },
  );
});

describe("replays", () => {
  it("a replayed delivery answers duplicate and acts no more, even if it names another session", async () => {
    const userId = clerkId("user");
    const [sid, otherSid] = [clerkId("sess"), clerkId("sess")];
    await startFamily(userId, sid);
    const other = await startFamily(userId, otherSid);
    const id = newDeliveryId();

    const first = await deliver(sessionEnded(sid, userId), { id });
    expect(first.body).toEqual({ result: "applied", revoked: 1 });
    const after = await userState(stack.sql, userId);

    // The same delivery again (Svix retries re-sign with a new timestamp).
    const again = await deliver(sessionEnded(sid, userId), { id, date: new Date(Date.now() + 30_000) });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ result: "duplicate", revoked: 0 });
    // A delivery id is used once: the same id with another payload is still a duplicate.
    const reused = await deliver(sessionEnded(otherSid, userId), { id });
    expect(reused.body).toEqual({ result: "duplicate", revoked: 0 });

    expect(await userState(stack.sql, userId)).toBe(after);
    expect((await stack.refresh(other.refresh_token)).status).toBe(200);
  });

  it("concurrent copies of one delivery: exactly one applies", async () => {
    const userId = clerkId("user");
    const sid = clerkId("sess");
    for (let i = 0; i < 3; i++) await startFamily(userId, sid);
    const signed = signDelivery(secret, sessionEnded(sid, userId));

    const answers = await Promise.all(Array.from({ length: 12 }, () => post(signed.body, signed.headers)));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    const results = answers.map((a) => a.body.result).sort();
    expect(results.filter((r) => r === "applied")).toHaveLength(1);
    expect(results.filter((r) => r === "duplicate")).toHaveLength(11);
    expect(answers.reduce((sum, a) => sum + a.body.revoked, 0)).toBe(3);
    expect((await eventsOf(stack.sql, userId)).filter((e) => e.type === "clerk_session_ended")).toHaveLength(
      3,
    );
  });

  it("concurrent deliveries of different events for one session: one revokes, the others find nothing", async () => {
    const userId = clerkId("user");
    const sid = clerkId("sess");
    for (let i = 0; i < 2; i++) await startFamily(userId, sid);
    const answers = await Promise.all(
      ["session.ended", "session.revoked", "session.removed", "session.ended"].map((type) =>
        deliver(sessionEnded(sid, userId, type))
      ),
    );
    expect(answers.map((a) => a.body.result)).toEqual(["applied", "applied", "applied", "applied"]);
    expect(answers.reduce((sum, a) => sum + a.body.revoked, 0)).toBe(2);
    expect((await eventsOf(stack.sql, userId)).filter((e) => e.type === "clerk_session_ended")).toHaveLength(
      2,
    );
  });
});

describe("refused deliveries change nothing", () => {
  let userId: string;
  let sid: string;
  let started: TokenResponse;
  beforeAll(async () => {
    userId = clerkId("user");
    sid = clerkId("sess");
    started = await startFamily(userId, sid);
  });

  /** Sends `body` with `headers`, expects `status`/`code`, and checks the database did not move. */
  async function refused(
    body: string,
    headers: Record<string, string>,
    status: number,
    code: string,
    method = "POST",
  ): Promise<ApiResponse> {
    const before = await userState(stack.sql, userId);
    const response = await post(body, headers, method);
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.body.error).toBe(code);
    expect(typeof response.body.error_description).toBe("string");
    if (status === 401) expect(response.headers.get("www-authenticate")).toContain(`error="${code}"`);
    expect(await userState(stack.sql, userId)).toBe(before);
    if (headers["svix-id"]) expect(await deliveryRecorded(headers["svix-id"])).toBe(false);
    // Nor was the Clerk session or user marked as ended, which would block /start.
    const [ended] = await stack.sql`
      select count(*)::int as n from sessionguard.clerk_endings where clerk_id in (${sid}, ${userId})`;
    expect(ended.n).toBe(0);
    return response;
  }

  const event = () => sessionEnded(sid, userId);

  it("a signature made with another secret", async () => {
    const signed = signDelivery(newWebhookSecret(), event());
    await refused(signed.body, signed.headers, 401, "invalid_signature");
  });

  it("a garbage signature, an unknown version, and several wrong ones", async () => {
    const signed = signDelivery(secret, event());
    const good = signed.headers["svix-signature"];
    const flipped = `v1,${
      Buffer.from(Buffer.from(good.slice(3), "base64").map((b, i) => (i === 0 ? b ^ 1 : b))).toString(
        "base64",
      )
    }`;
    for (
      const signature of ["v1,AAAA", "garbage", `v2,${good.slice(3)}`, flipped, `${flipped} v1,BBBB`, ""]
    ) {
      await refused(
        signed.body,
        { ...signed.headers, "svix-signature": signature },
        401,
        "invalid_signature",
      );
    }
  });

  it("a tampered body (another session id under a valid signature)", async () => {
    const signed = signDelivery(secret, event());
    const tampered = signed.body.replace(sid, clerkId("sess"));
    expect(tampered).not.toBe(signed.body);
    await refused(tampered, signed.headers, 401, "invalid_signature");
    await refused(`${signed.body} `, signed.headers, 401, "invalid_signature");
  });

  it("a valid signature moved to another svix-id or timestamp", async () => {
    const signed = signDelivery(secret, event());
    await refused(signed.body, { ...signed.headers, "svix-id": newDeliveryId() }, 401, "invalid_signature");
    const shifted = String(Number(signed.headers["svix-timestamp"]) - 1);
    await refused(signed.body, { ...signed.headers, "svix-timestamp": shifted }, 401, "invalid_signature");
  });

  it("a stale timestamp (6 minutes old) or one from the future (6 minutes ahead), correctly signed", async () => {
    const stale = signDelivery(secret, event(), { date: new Date(Date.now() - 6 * 60_000) });
    await refused(stale.body, stale.headers, 401, "invalid_signature");
    const ahead = signDelivery(secret, event(), { date: new Date(Date.now() + 6 * 60_000) });
    await refused(ahead.body, ahead.headers, 401, "invalid_signature");
    const notNumber = signDelivery(secret, event());
    await refused(
      notNumber.body,
      { ...notNumber.headers, "svix-timestamp": "yesterday" },
      401,
      "invalid_signature",
    );
  });

  it.each(["svix-id", "svix-timestamp", "svix-signature"])("a missing %s header", async (name) => {
    const signed = signDelivery(secret, event());
    const headers = { ...signed.headers };
    delete headers[name];
    await refused(signed.body, headers, 401, "invalid_signature");
  });

  it("signed bodies that are not a Clerk event: 400, nothing recorded", async () => {
    const bodies = [
      "not json",
      "[1, 2]",
      '"session.ended"',
      JSON.stringify({ type: 42, data: {} }),
      JSON.stringify({ data: { id: sid } }),
      JSON.stringify(clerkEvent("session.ended", { user_id: userId })),
      JSON.stringify(clerkEvent("session.ended", { id: 12345 })),
      JSON.stringify(clerkEvent("session.ended", { id: "x".repeat(256) })),
      JSON.stringify(clerkEvent("session.ended", { id: `${sid}\u0000` })),
      JSON.stringify(clerkEvent("session.ended", { id: sid, user_id: ["x"] })),
      JSON.stringify(clerkEvent("user.deleted", { deleted: true })),
      JSON.stringify(clerkEvent("x".repeat(300), {})),
    ];
    for (const body of bodies) {
      const signed = signDelivery(secret, null, { body });
      await refused(signed.body, signed.headers, 400, "invalid_request");
    }
    // An over-long delivery id, correctly signed.
    const longId = signDelivery(secret, event(), { id: `msg_${"x".repeat(300)}` });
    await refused(longId.body, longId.headers, 400, "invalid_request");
  });

  it("a body over 64 KiB: 413 even when signed", async () => {
    const big = { ...event(), padding: "x".repeat(64 * 1024) };
    const signed = signDelivery(secret, big);
    await refused(signed.body, signed.headers, 413, "payload_too_large");
  });

  it("other methods, paths and media types", async () => {
    const signed = signDelivery(secret, event());
    const response = await refused("", signed.headers, 405, "method_not_allowed", "PUT");
    expect(response.headers.get("allow")).toBe("POST");
    await refused("", {}, 405, "method_not_allowed", "GET");
    await refused(
      signed.body,
      { ...signed.headers, "content-type": "text/plain" },
      415,
      "unsupported_media_type",
    );
    const elsewhere = await call(webhook.origin, "/functions/v1/clerk-webhook/extra", {
      raw: signed.body,
      headers: signed.headers,
    });
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.error).toBe("not_found");
  });

  it("after every refusal the same delivery, correctly signed, still applies once", async () => {
    const response = await deliver(event());
    expect(response.body).toEqual({ result: "applied", revoked: 1 });
    expect((await stack.refresh(started.refresh_token)).body.error).toBe("session_revoked");
  });
});

describe("start-up", () => {
  it("stops with a message naming a missing or malformed CLERK_WEBHOOK_SECRET", async () => {
    for (
      const value of [
        undefined,
        "",
        "not-a-secret",
        "whsec_",
        "whsec_!!!!",
        `whsec_${Buffer.alloc(8).toString("base64")}`,
      ]
    ) {
      const { code, stderr } = await failingClerkWebhookStart({
        CLERK_WEBHOOK_SECRET: value,
        DATABASE_URL: testDatabaseUrl(),
      });
      expect(code).toBe(1);
      expect(stderr).toContain("CLERK_WEBHOOK_SECRET");
    }
  });

  it("stops with a message naming a missing or malformed DATABASE_URL, and falls back to SUPABASE_DB_URL", async () => {
    for (const value of [undefined, "mysql://x"]) {
      const { code, stderr } = await failingClerkWebhookStart({
        CLERK_WEBHOOK_SECRET: secret,
        DATABASE_URL: value,
      });
      expect(code).toBe(1);
      expect(stderr).toContain("DATABASE_URL");
    }
    const fallback = await startClerkWebhookServer({
      CLERK_WEBHOOK_SECRET: secret,
      SUPABASE_DB_URL: testDatabaseUrl(),
    });
    try {
      const signed = signDelivery(secret, clerkEvent("user.created", { id: clerkId("user") }));
      const response = await call(fallback.url, "", { raw: signed.body, headers: signed.headers });
      expect(response.body).toEqual({ result: "ignored", revoked: 0 });
    } finally {
      await fallback.stop();
    }
  });

  it("never logs the secret", () => {
    expect(webhook.log()).not.toContain(secret.slice(6));
  });
});
