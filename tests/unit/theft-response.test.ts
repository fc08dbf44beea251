/**
 * The theft responder (functions/theft-response.ts) with real HTTP on both
 * sides: a local stand-in for Clerk's Backend API and a receiver that verifies
 * the security webhook. What is checked: Clerk is asked to revoke the family's
 * Clerk session, the app is told, the caller is never held beyond `waitMs`
 * (the work goes on in the background), a failed revocation reaches
 * `recordFailure`, and nothing ever throws. Plus the settings it reads.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createClerkApi } from "../../functions/clerk-api.ts";
import { ConfigError, type Env } from "../../functions/config.ts";
import { settingReader } from "../../functions/config/read.ts";
import { parseTheftResponseSettings as parseTheft } from "../../functions/config/theft-response.ts";

const parseTheftResponseSettings = (env: Env) => parseTheft(settingReader(env));
import { createSecurityWebhook } from "../../functions/security-webhook.ts";
import {
  createTheftResponder,
  type Theft,
  THEFT_WEBHOOK_TYPE,
  type TheftFailure,
  type TheftLogEntry,
  type TheftResponderDeps,
} from "../../functions/theft-response.ts";
import { type ClerkApiStub, startClerkApiStub } from "../support/clerk-api-stub.ts";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.ts";

const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.allSettled(stops.splice(0).map((stop) => stop()));
});

async function clerkStub(): Promise<ClerkApiStub> {
  const stub = await startClerkApiStub();
  stops.push(() => stub.stop());
  return stub;
}

async function receiver(): Promise<WebhookReceiver> {
  const hook = await startWebhookReceiver(newSecret());
  stops.push(() => hook.stop());
  return hook;
}

function theft(overrides: Partial<Theft> = {}): Theft {
  return {
    userId: clerkId("user"),
    sessionId: crypto.randomUUID(),
    clerkSessionId: clerkId("sess"),
    ip: "203.0.113.9",
    userAgent: "ThiefBrowser/1.0",
    scope: "family",
    detectedAt: new Date(),
    ...overrides,
  };
}

/** A responder over the stubs, collecting failures, log lines and background work. */
function harness(deps: Partial<TheftResponderDeps> = {}) {
  const failures: TheftFailure[] = [];
  const log: TheftLogEntry[] = [];
  const background: Promise<unknown>[] = [];
  const respond = createTheftResponder({
    recordFailure: async (failure) => void failures.push(failure),
    waitUntil: (work) => void background.push(work),
    log: (entry) => void log.push(entry),
    ...deps,
  });
  return { respond, failures, log, settled: () => Promise.all(background) };
}

const clerkApi = (stub: ClerkApiStub, timeoutMs = 1000) =>
  createClerkApi({ secretKey: stub.secretKey, apiUrl: stub.url, timeoutMs, attempts: 3, backoffMs: 20 });
const securityWebhook = (hook: WebhookReceiver) =>
  createSecurityWebhook({ url: hook.url, secret: hook.secret, attempts: 3, timeoutMs: 1000, backoffMs: 20 });

describe("theft responder", () => {
  it("revokes the Clerk session and sends a verified security webhook describing the theft", async () => {
    const stub = await clerkStub();
    const hook = await receiver();
    const h = harness({ clerkApi: clerkApi(stub), securityWebhook: securityWebhook(hook) });
    const t = theft({ scope: "user" });

    await h.respond(t);
    await h.settled();

    expect(stub.calls()).toMatchObject([{ method: "POST", sessionId: t.clerkSessionId }]);
    const [delivery] = hook.deliveries();
    expect(delivery.verified).toBe(true);
    expect(delivery.payload).toMatchObject({
      type: THEFT_WEBHOOK_TYPE,
      data: {
        user_id: t.userId,
        session_id: t.sessionId,
        clerk_session_id: t.clerkSessionId,
        ip: t.ip,
        user_agent: t.userAgent,
        scope: "user",
        detected_at: Math.floor(t.detectedAt.getTime() / 1000),
      },
    });
    expect(h.failures).toEqual([]);
    expect(h.log.map((l) => l.code).sort()).toEqual(["clerk_revoked", "security_webhook_sent"]);
  });

  it("records a Clerk revocation that fails after its retries, once", async () => {
    const stub = await clerkStub();
    stub.script({ status: 500 }, { status: 502 }, { status: 503 });
    const h = harness({ clerkApi: clerkApi(stub) });
    const t = theft();
    await h.respond(t);
    await h.settled();
    expect(stub.calls()).toHaveLength(3);
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0]).toMatchObject({
      kind: "clerk_revoke_failed",
      theft: t,
      outcome: { ok: false, reason: "unavailable", status: 503, attempts: 3 },
    });
  });

  it("records a final 4xx at once", async () => {
    const stub = await clerkStub();
    stub.script({ status: 404 });
    const h = harness({ clerkApi: clerkApi(stub) });
    await h.respond(theft());
    await h.settled();
    expect(stub.calls()).toHaveLength(1);
    expect(h.failures.map((f) => f.outcome.reason)).toEqual(["rejected"]);
  });

  it("does not hold the caller while Clerk is silent: it returns, the retries go on, the failure is recorded", async () => {
    const stub = await clerkStub();
    stub.script({ hang: true }, { hang: true }, { hang: true });
    const h = harness({ clerkApi: clerkApi(stub, 300), waitMs: 100 });
    const started = performance.now();

    await h.respond(theft());
    const returnedAfter = performance.now() - started;
    // The caller is free while the attempts are still outstanding: nothing is decided yet.
    expect(h.failures).toEqual([]);
    expect(h.log).toEqual([]);

    await h.settled();
    const doneAfter = performance.now() - started;
    expect(h.failures.map((f) => f.outcome)).toMatchObject([{ ok: false, reason: "timeout", attempts: 3 }]);
    expect(stub.calls()).toHaveLength(3);
    console.info(
      `[theft-response] caller released after ${Math.round(returnedAfter)} ms (waitMs 100); ` +
        `3 silent Clerk attempts of 300 ms recorded as failed after ${Math.round(doneAfter)} ms`,
    );
  });

  it("by default waits for a quick Clerk answer, so the revocation has happened when the 401 goes out", async () => {
    const stub = await clerkStub();
    const h = harness({ clerkApi: clerkApi(stub) });
    await h.respond(theft());
    expect(stub.calls()).toHaveLength(1);
    expect(h.log.map((l) => l.code)).toEqual(["clerk_revoked"]);
  });

  it("never waits on the security webhook", async () => {
    const hook = await receiver();
    hook.script({ delayMs: 800 });
    const h = harness({ securityWebhook: securityWebhook(hook) });
    await h.respond(theft());
    expect(h.log).toEqual([]);
    await h.settled();
    expect(h.log.map((l) => l.code)).toEqual(["security_webhook_sent"]);
  });

  it("survives a failing recordFailure, a throwing waitUntil, and a failing webhook", async () => {
    const stub = await clerkStub();
    stub.script({ status: 400 });
    const hook = await receiver();
    hook.script({ status: 500 }, { status: 500 }, { status: 500 });
    const background: Promise<unknown>[] = [];
    const log: TheftLogEntry[] = [];
    const respond = createTheftResponder({
      clerkApi: clerkApi(stub),
      securityWebhook: securityWebhook(hook),
      recordFailure: () => Promise.reject(new Error("database is down")),
      waitUntil: (work) => {
        background.push(work);
        throw new Error("no EdgeRuntime");
      },
      log: (entry) => void log.push(entry),
    });
    await expect(respond(theft())).resolves.toBeUndefined();
    await Promise.all(background);
    expect(log.map((l) => l.code).sort()).toEqual(
      ["clerk_revoke_failed", "security_webhook_failed", "theft_response_error", "theft_response_error"],
    );
  });

  it("does nothing at Clerk without a Clerk session id or without a Clerk client", async () => {
    const stub = await clerkStub();
    const hook = await receiver();
    const withClient = harness({ clerkApi: clerkApi(stub) });
    await withClient.respond(theft({ clerkSessionId: null }));
    await withClient.settled();
    const withoutClient = harness({ securityWebhook: securityWebhook(hook) });
    await withoutClient.respond(theft());
    await withoutClient.settled();
    expect(stub.calls()).toEqual([]);
    expect(hook.deliveries()).toHaveLength(1);
    const nothing = harness();
    await expect(nothing.respond(theft())).resolves.toBeUndefined();
  });
});

describe("theft response settings", () => {
  const secret = newSecret();

  it("is off unless configured", () => {
    expect(parseTheftResponseSettings({})).toEqual({ clerkApi: null, securityWebhook: null });
  });

  it("reads CLERK_SECRET_KEY, CLERK_API_URL and the security webhook", () => {
    const settings = parseTheftResponseSettings({
      CLERK_SECRET_KEY: "sk_test_abcdefghijklmnop",
      SECURITY_WEBHOOK_URL: "https://app.example.com/hooks/sessionguard",
      SECURITY_WEBHOOK_SECRET: secret,
    });
    expect(settings).toEqual({
      clerkApi: { secretKey: "sk_test_abcdefghijklmnop", apiUrl: "https://api.clerk.com/" },
      securityWebhook: { url: "https://app.example.com/hooks/sessionguard", secret },
    });
    expect(Object.isFrozen(settings)).toBe(true);
    expect(
      parseTheftResponseSettings({
        CLERK_SECRET_KEY: "sk_live_abcdefghijkl",
        CLERK_API_URL: "http://127.0.0.1:9999",
      })
        .clerkApi?.apiUrl,
    ).toBe("http://127.0.0.1:9999/");
  });

  it.each([
    [{ CLERK_SECRET_KEY: "pk_test_abcdefghijkl" }, "CLERK_SECRET_KEY"],
    [{ CLERK_SECRET_KEY: "sk_test_short" }, "CLERK_SECRET_KEY"],
    [{ CLERK_SECRET_KEY: "sk_test_abcdefghijkl", CLERK_API_URL: "http://api.clerk.com" }, "CLERK_API_URL"],
    [{ SECURITY_WEBHOOK_SECRET: secret }, "SECURITY_WEBHOOK_URL"],
    [{ SECURITY_WEBHOOK_URL: "https://app.example.com/hook" }, "SECURITY_WEBHOOK_SECRET"],
    [
      { SECURITY_WEBHOOK_URL: "https://app.example.com/hook", SECURITY_WEBHOOK_SECRET: "hunter2" },
      "SECURITY_WEBHOOK_SECRET",
    ],
    [
      { SECURITY_WEBHOOK_URL: "http://app.example.com/hook", SECURITY_WEBHOOK_SECRET: secret },
      "SECURITY_WEBHOOK_URL",
    ],
    [
      { SECURITY_WEBHOOK_URL: "https://u:p@app.example.com/", SECURITY_WEBHOOK_SECRET: secret },
      "SECURITY_WEBHOOK_URL",
    ],
    [{ SECURITY_WEBHOOK_URL: "not a url", SECURITY_WEBHOOK_SECRET: secret }, "SECURITY_WEBHOOK_URL"],
  ])("refuses %j, naming %s and not the secret", (env, setting) => {
    let error: unknown;
    try {
      parseTheftResponseSettings(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe(setting);
    expect((error as ConfigError).message).not.toContain(secret.slice(6));
    expect((error as ConfigError).message).not.toContain("hunter2");
  });
});
