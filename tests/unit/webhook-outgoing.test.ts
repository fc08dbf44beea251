/**
 * The outgoing security webhook (functions/security-webhook.ts) against a local
 * receiver that verifies every delivery with the `standardwebhooks` library:
 * the Standard Webhooks format, one id across retries, fresh signatures per
 * attempt, bounded retries, and no throw when the receiver is gone.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createSecurityWebhook } from "../../functions/security-webhook.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.ts";

const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;
const receivers: WebhookReceiver[] = [];
afterEach(async () => {
  await Promise.allSettled(receivers.splice(0).map((r) => r.stop()));
});

async function receiver(secret = newSecret()): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver(secret);
  receivers.push(started);
  return started;
}

const sender = (url: string, secret: string, options: { attempts?: number; timeoutMs?: number } = {}) =>
  createSecurityWebhook({
    url,
    secret,
    attempts: options.attempts ?? 3,
    timeoutMs: options.timeoutMs ?? 1000,
    backoffMs: 20,
  });

describe("security webhook", () => {
  it("delivers one message in the Standard Webhooks format, signed so the library accepts it", async () => {
    const hook = await receiver();
    const data = { user_id: "user_1", session_id: "3f1c0c1e-0000-4000-8000-000000000001", ip: "203.0.113.9" };
    const outcome = await sender(hook.url, hook.secret).send("session.refresh_token_reused", data);
    expect(outcome).toMatchObject({ ok: true, attempts: 1, status: 204, detail: "" });
    const [delivery] = hook.deliveries();
    expect(delivery.verified).toBe(true);
    expect(delivery.id).toBe(outcome.id);
    expect(delivery.id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(delivery.contentType).toBe("application/json");
    expect(delivery.payload).toEqual({
      type: "session.refresh_token_reused",
      timestamp: expect.any(String),
      data,
    });
    expect(Math.abs(Date.parse(delivery.payload.timestamp) / 1000 - Number(delivery.timestamp))).toBeLessThan(
      2,
    );
  });

  it("the receiver's check is real: a message signed with another secret is refused, and retried to the end", async () => {
    const hook = await receiver();
    const outcome = await sender(hook.url, newSecret()).send("session.refresh_token_reused", {});
    expect(outcome).toMatchObject({ ok: false, attempts: 3, status: 401 });
    expect(hook.deliveries().map((d) => d.verified)).toEqual([false, false, false]);
  });

  it("retries failed deliveries with the same id, each attempt freshly signed, until one is accepted", async () => {
    const hook = await receiver();
    hook.script({ status: 500 }, { status: 503 });
    const outcome = await sender(hook.url, hook.secret).send("session.refresh_token_reused", { n: 1 });
    expect(outcome).toMatchObject({ ok: true, attempts: 3, status: 204 });
    const deliveries = hook.deliveries();
    expect(deliveries.map((d) => d.status)).toEqual([500, 503, 204]);
    expect(deliveries.every((d) => d.verified && d.id === outcome.id)).toBe(true);
    expect(new Set(deliveries.map((d) => d.body)).size).toBe(1);
  });

  it("gives up after the last attempt", async () => {
    const hook = await receiver();
    hook.script({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const outcome = await sender(hook.url, hook.secret, { attempts: 4 }).send("x.y", {});
    expect(outcome).toMatchObject({ ok: false, attempts: 4, status: 500, detail: "HTTP 500" });
    expect(hook.deliveries()).toHaveLength(4);
  });

  it("treats a redirect as a failure and does not follow it", async () => {
    const hook = await receiver();
    hook.script({ status: 302 });
    const outcome = await sender(hook.url, hook.secret).send("x.y", {});
    expect(outcome).toMatchObject({ ok: true, attempts: 2 });
    expect(hook.deliveries().map((d) => d.status)).toEqual([302, 204]);
  });

  it("abandons an attempt that outlasts its timeout and retries", async () => {
    const hook = await receiver();
    hook.script({ delayMs: 2_000 });
    const outcome = await sender(hook.url, hook.secret, { timeoutMs: 300 }).send("x.y", {});
    expect(outcome).toMatchObject({ ok: true, attempts: 2, status: 204 });
  });

  it("reports, never throws, when nothing listens", async () => {
    const gone = await startWebhookReceiver(newSecret());
    await gone.stop();
    const outcome = await sender(gone.url, gone.secret, { attempts: 2 }).send("x.y", {});
    expect(outcome).toMatchObject({ ok: false, attempts: 2, status: null });
    expect(outcome.detail).not.toBe("");
  });
});
