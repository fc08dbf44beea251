/**
 * The Clerk Backend API client (functions/clerk-api.ts) against a local
 * stand-in for Clerk that records calls and answers slowly, with errors, or
 * not at all: success, retries of transient failures, bounded attempts that
 * give up on a silent server, and no retry of a final 4xx.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createClerkApi } from "../../functions/clerk-api.ts";
import { type ClerkApiStub, startClerkApiStub } from "../support/clerk-api-stub.ts";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";

let stub: ClerkApiStub;
beforeAll(async () => {
  stub = await startClerkApiStub();
});
afterAll(() => stub?.stop());

/** A fresh stub per test, so call lists do not mix. */
beforeEach(async () => {
  await stub.stop();
  stub = await startClerkApiStub();
});

const client = (options: { timeoutMs?: number; attempts?: number; secretKey?: string } = {}) =>
  createClerkApi({
    secretKey: options.secretKey ?? stub.secretKey,
    apiUrl: stub.url,
    timeoutMs: options.timeoutMs ?? 1000,
    attempts: options.attempts ?? 3,
    backoffMs: 20,
  });

describe("revokeSession", () => {
  it("posts to /v1/sessions/{id}/revoke with the secret key and reports success", async () => {
    const sid = clerkId("sess");
    const outcome = await client().revokeSession(sid);
    expect(outcome).toEqual({ ok: true, status: 200, attempts: 1 });
    expect(stub.calls()).toMatchObject([
      {
        method: "POST",
        path: `/v1/sessions/${sid}/revoke`,
        sessionId: sid,
        authorization: `Bearer ${stub.secretKey}`,
      },
    ]);
  });

  it("retries a 5xx, then succeeds", async () => {
    stub.script({ status: 503 }, { status: 500 });
    const outcome = await client().revokeSession(clerkId("sess"));
    expect(outcome).toEqual({ ok: true, status: 200, attempts: 3 });
    expect(stub.calls()).toHaveLength(3);
  });

  it("retries 429 and 408 as transient", async () => {
    stub.script({ status: 429 }, { status: 408 });
    expect(await client().revokeSession(clerkId("sess"))).toMatchObject({ ok: true, attempts: 3 });
  });

  it("gives up after the last attempt when Clerk keeps failing", async () => {
    stub.script({ status: 502 }, { status: 502 }, { status: 502 }, { status: 200 });
    const outcome = await client().revokeSession(clerkId("sess"));
    expect(outcome).toMatchObject({ ok: false, reason: "unavailable", status: 502, attempts: 3 });
    expect(stub.calls()).toHaveLength(3);
  });

  it.each([400, 403, 404, 422])("does not retry a final %i", async (status) => {
    stub.script({ status });
    const outcome = await client().revokeSession(clerkId("sess"));
    expect(outcome).toMatchObject({ ok: false, reason: "rejected", status, attempts: 1 });
    if (!outcome.ok) expect(outcome.detail).toBe(`HTTP ${status} stub_${status}`);
    expect(stub.calls()).toHaveLength(1);
  });

  it("does not retry a wrong secret key, and never reports the key", async () => {
    const wrongKey = "sk_test_notthestubskey0123456789";
    const outcome = await client({ secretKey: wrongKey }).revokeSession(clerkId("sess"));
    expect(outcome).toMatchObject({ ok: false, reason: "rejected", status: 401, attempts: 1 });
    expect(JSON.stringify(outcome)).not.toContain(wrongKey);
    expect(stub.calls()).toHaveLength(1);
  });

  it("gives up on a server that never answers: every attempt is cut at its timeout, attempts are bounded", async () => {
    stub.script({ hang: true }, { hang: true }, { hang: true }, { hang: true });
    const api = client({ timeoutMs: 250, attempts: 3 });
    const started = performance.now();
    const outcome = await api.revokeSession(clerkId("sess"));
    const elapsed = performance.now() - started;
    expect(outcome).toMatchObject({ ok: false, reason: "timeout", status: null, attempts: 3 });
    // The client hung up on each of the three, and tried no fourth time.
    await vi.waitFor(() => expect(stub.calls().map((c) => c.abandoned)).toEqual([true, true, true]));
    console.info(
      `[clerk-api] 3 silent attempts of 250 ms gave up after ${Math.round(elapsed)} ms ` +
        `(nominal bound ${api.maxDurationMs} ms)`,
    );
  });

  it("a slow first answer is abandoned and the retry succeeds; a slow answer within the timeout is fine", async () => {
    stub.script({ delayMs: 2_000 }, { delayMs: 50 });
    const outcome = await client({ timeoutMs: 400 }).revokeSession(clerkId("sess"));
    expect(outcome).toEqual({ ok: true, status: 200, attempts: 2 });
    await vi.waitFor(() => expect(stub.calls().map((c) => c.abandoned)).toEqual([true, false]));
  });

  it("retries a dropped connection", async () => {
    stub.script({ reset: true });
    expect(await client().revokeSession(clerkId("sess"))).toEqual({ ok: true, status: 200, attempts: 2 });
  });

  it("reports a network failure when nothing listens, without throwing", async () => {
    const closed = await startClerkApiStub();
    const url = closed.url;
    await closed.stop();
    const api = createClerkApi({
      secretKey: stub.secretKey,
      apiUrl: url,
      timeoutMs: 500,
      attempts: 2,
      backoffMs: 10,
    });
    expect(await api.revokeSession(clerkId("sess"))).toMatchObject({
      ok: false,
      reason: "network",
      attempts: 2,
    });
  });

  it("stops when the caller aborts", async () => {
    stub.script({ hang: true }, { hang: true });
    const controller = new AbortController();
    const pending = client({ timeoutMs: 5_000 }).revokeSession(clerkId("sess"), controller.signal);
    await stub.waitForCalls(1);
    controller.abort();
    expect(await pending).toMatchObject({ ok: false, reason: "aborted", attempts: 1 });
    expect(stub.calls()).toHaveLength(1);
  });

  it("keeps a hostile session id inside its path segment", async () => {
    const hostile = "sess_x/../../users/user_1?x=1#y";
    expect((await client().revokeSession(hostile)).ok).toBe(true);
    const [call] = stub.calls();
    expect(call.path).toBe("/v1/sessions/sess_x%2F..%2F..%2Fusers%2Fuser_1%3Fx%3D1%23y/revoke");
    expect(call.sessionId).toBe(hostile);
  });
});
