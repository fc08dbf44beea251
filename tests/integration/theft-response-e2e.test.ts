/**
 * Theft response end to end: the real session function (Deno) and Postgres, a
 * local stand-in for Clerk's Backend API and a receiver that verifies the
 * security webhook. A replayed refresh token answers 401 `refresh_token_reused`
 * in both theft scopes, Clerk is asked to revoke the stolen family's Clerk
 * session, the app receives a signed message, and when Clerk is down or silent
 * the 401 still comes and the failure is kept as a security event.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type ClerkApiStub, startClerkApiStub } from "../support/clerk-api-stub.ts";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { eventsOf, familiesOf } from "../support/database-rows.ts";
import { type Stack, startStack, type TokenResponse } from "../support/stack.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.ts";

const THIEF = { "cf-connecting-ip": "203.0.113.66", "user-agent": "ThiefBrowser/2.0" };

/** Starts a family, rotates it twice, and replays its first token as a thief. */
async function steal(
  stack: Stack,
  userId: string,
): Promise<{ started: TokenResponse; replay: Awaited<ReturnType<Stack["refresh"]>> }> {
  const started = await stack.start(userId);
  const t1 = await stack.refresh(started.refresh_token);
  const t2 = await stack.refresh(t1.body.refresh_token);
  expect(t2.status).toBe(200);
  const replay = await stack.refresh(started.refresh_token, THIEF);
  return { started, replay };
}

async function clerkSessionOf(stack: Stack, userId: string, sessionId: string): Promise<string> {
  const row = (await familiesOf(stack.sql, userId)).find((r) => r.id === sessionId);
  expect(row?.clerk_session_id).toMatch(/^sess_/);
  return row!.clerk_session_id!;
}

for (const scope of ["family", "user"] as const) {
  describe(`theft with SESSION_THEFT_SCOPE=${scope}`, () => {
    let stack: Stack;
    let clerk: ClerkApiStub;
    let hook: WebhookReceiver;
    beforeAll(async () => {
      clerk = await startClerkApiStub();
      hook = await startWebhookReceiver(`whsec_${randomBytes(32).toString("base64")}`);
      stack = await startStack({
        SESSION_THEFT_SCOPE: scope,
        CLERK_SECRET_KEY: clerk.secretKey,
        CLERK_API_URL: clerk.url,
        SECURITY_WEBHOOK_URL: hook.url,
        SECURITY_WEBHOOK_SECRET: hook.secret,
      });
    });
    afterAll(async () => {
      await Promise.allSettled([stack?.stop(), clerk?.stop(), hook?.stop()]);
    });

    it("revokes locally, revokes the Clerk session, and sends a verified security webhook", async () => {
      const userId = clerkId("user");
      const bystander = await stack.start(userId);
      const calls = clerk.calls().length;
      const deliveries = hook.deliveries().length;
      const { started, replay } = await steal(stack, userId);

      expect(replay.status).toBe(401);
      expect(replay.body.error).toBe("refresh_token_reused");
      const rows = await familiesOf(stack.sql, userId);
      expect(rows.find((r) => r.id === started.session.id)?.revoked_reason).toBe("refresh_token_reused");
      expect(rows.find((r) => r.id === bystander.session.id)?.revoked_at === null).toBe(scope === "family");

      const [call] = (await clerk.waitForCalls(calls + 1)).slice(calls);
      expect(call).toMatchObject({
        method: "POST",
        sessionId: await clerkSessionOf(stack, userId, started.session.id),
        authorization: `Bearer ${clerk.secretKey}`,
      });
      const [delivery] = (await hook.waitForDeliveries(deliveries + 1)).slice(deliveries);
      expect(delivery.verified).toBe(true);
      expect(delivery.payload).toMatchObject({
        type: "session.refresh_token_reused",
        data: {
          user_id: userId,
          session_id: started.session.id,
          clerk_session_id: call.sessionId,
          ip: "203.0.113.66",
          user_agent: "ThiefBrowser/2.0",
          scope,
        },
      });
      expect((await eventsOf(stack.sql, userId)).map((e) => e.type)).not.toContain("clerk_revoke_failed");
    });

    it("answers the 401 and records a security event when Clerk keeps failing", async () => {
      clerk.script({ status: 500 }, { status: 502 }, { status: 503 });
      const userId = clerkId("user");
      const { started, replay } = await steal(stack, userId);
      expect(replay.body.error).toBe("refresh_token_reused");
      await vi.waitFor(async () => {
        const failed = (await eventsOf(stack.sql, userId)).filter((e) => e.type === "clerk_revoke_failed");
        expect(failed).toEqual([
          {
            type: "clerk_revoke_failed",
            session_id: started.session.id,
            ip: "203.0.113.66",
            user_agent: "ThiefBrowser/2.0",
          },
        ]);
      }, { timeout: 15_000, interval: 100 });
      // The user sees it among their events, in words.
      const other = await stack.start(userId);
      const events = await stack.call("/events", { token: other.access_token });
      const shown = events.body.events.find((e: { type: string }) => e.type === "clerk_revoke_failed");
      expect(shown.description).toMatch(/sign out/i);
    });

    it("does not hold the 401 while Clerk is silent; the failure is recorded later", async () => {
      clerk.script({ hang: true }, { hang: true }, { hang: true });
      const userId = clerkId("user");
      const { replay } = await steal(stack, userId);
      expect(replay.body.error).toBe("refresh_token_reused");
      // Answered before the attempts ran out: nothing is recorded yet.
      expect((await eventsOf(stack.sql, userId)).map((e) => e.type)).not.toContain("clerk_revoke_failed");
      await vi.waitFor(async () => {
        expect((await eventsOf(stack.sql, userId)).map((e) => e.type)).toContain("clerk_revoke_failed");
      }, { timeout: 20_000, interval: 200 });
    });
  });
}
