/**
 * The DPoP settings against the real Deno server and Postgres:
 * SESSION_DPOP=required and off, SESSION_DPOP_NONCE=on (the use_dpop_nonce
 * challenge), SESSION_DPOP_MISMATCH=revoke.
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { eventsOf } from "../support/database-rows.ts";
import { deviceKey, proof } from "../support/dpop.ts";
import { type Stack, startStack } from "../support/stack.ts";

const stacks: Stack[] = [];
async function stackWith(settings: Record<string, string>): Promise<Stack> {
  const stack = await startStack({ SESSION_RATE_LIMITS: "off", ...settings });
  stacks.push(stack);
  return stack;
}
afterAll(() => Promise.all(stacks.map((s) => s.stop())));

async function familiesOf(stack: Stack, user: string) {
  return await stack.sql<
    { id: string; dpop_jkt: string | null; generation: string; revoked_reason: string | null }[]
  >`
    select id, dpop_jkt, generation::text as generation, revoked_reason
    from sessionguard.families where user_id = ${user}`;
}

async function startCall(stack: Stack, user: string, headers: Record<string, string>) {
  return await stack.call("/start", {
    method: "POST",
    token: await stack.clerk.token({ sub: user }),
    headers,
  });
}

describe("SESSION_DPOP=required", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await stackWith({ SESSION_DPOP: "required" });
  });

  it("refuses a start without a proof and creates nothing; a proof binds", async () => {
    const user = clerkId("user");
    const refused = await startCall(stack, user, {});
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe("invalid_dpop_proof");
    expect(refused.headers.get("www-authenticate")).toMatch(/^DPoP /);
    expect(await familiesOf(stack, user)).toEqual([]);

    const key = await deviceKey();
    const bound = await startCall(stack, user, {
      dpop: await proof(key, "POST", `${stack.server.url}/start`),
    });
    expect(bound.status).toBe(200);
    expect((await familiesOf(stack, user)).map((f) => f.dpop_jkt)).toEqual([key.jkt]);
  });
});

describe("SESSION_DPOP=off", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await stackWith({ SESSION_DPOP: "off" });
  });

  it("ignores DPoP headers: nothing is bound, even a garbage proof passes unread", async () => {
    const user = clerkId("user");
    const key = await deviceKey();
    const started = await startCall(stack, user, {
      dpop: await proof(key, "POST", `${stack.server.url}/start`),
    });
    expect(started.status).toBe(200);
    expect(decodeJwt(started.body.access_token).cnf).toBeUndefined();
    expect((await familiesOf(stack, user)).map((f) => f.dpop_jkt)).toEqual([null]);
    const refreshed = await stack.refresh(started.body.refresh_token, { dpop: "not.a.proof" });
    expect(refreshed.status).toBe(200);
    expect(
      (await stack.call("/sessions", { token: refreshed.body.access_token, headers: { dpop: "x" } })).status,
    )
      .toBe(200);
  });
});

describe("SESSION_DPOP_NONCE=on", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await stackWith({ SESSION_DPOP_NONCE: "on" });
  });

  it("challenges a proof without a nonce with use_dpop_nonce, then accepts the nonce it handed out", async () => {
    const user = clerkId("user");
    const key = await deviceKey();
    const url = `${stack.server.url}/start`;
    const challenged = await startCall(stack, user, { dpop: await proof(key, "POST", url) });
    expect(challenged.status).toBe(401);
    expect(challenged.body.error).toBe("use_dpop_nonce");
    expect(challenged.headers.get("www-authenticate")).toBe(
      'DPoP realm="sessionguard", error="use_dpop_nonce"',
    );
    const nonce = challenged.headers.get("dpop-nonce");
    expect(nonce).toBeTruthy();
    expect(await familiesOf(stack, user)).toEqual([]);

    const started = await startCall(stack, user, { dpop: await proof(key, "POST", url, { nonce: nonce! }) });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    // Every answer to a proof carries a current nonce, so the client is not challenged again.
    const next = started.headers.get("dpop-nonce");
    expect(next).toBeTruthy();
    const refreshed = await stack.refresh(started.body.refresh_token, {
      dpop: await proof(key, "POST", `${stack.server.url}/refresh`, { nonce: next! }),
    });
    expect(refreshed.status).toBe(200);

    const forged = await stack.refresh(refreshed.body.refresh_token, {
      dpop: await proof(key, "POST", `${stack.server.url}/refresh`, {
        nonce: `${nonce!.split(".")[0]}.${"A".repeat(22)}`,
      }),
    });
    expect(forged.body.error).toBe("use_dpop_nonce");
    expect((await familiesOf(stack, user))[0].generation).toBe("1");
  });
});

describe("SESSION_DPOP_MISMATCH=revoke", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await stackWith({ SESSION_DPOP_MISMATCH: "revoke" });
  });

  it("a refresh without the bound key is refused and also ends the session", async () => {
    const user = clerkId("user");
    const device = await deviceKey();
    const thief = await deviceKey();
    const started =
      (await startCall(stack, user, { dpop: await proof(device, "POST", `${stack.server.url}/start`) }))
        .body;
    const stolen = await stack.refresh(started.refresh_token, {
      dpop: await proof(thief, "POST", `${stack.server.url}/refresh`),
    });
    expect(stolen.body.error).toBe("invalid_dpop_proof");
    expect((await familiesOf(stack, user))[0]).toMatchObject({
      generation: "0",
      revoked_reason: "session_revoked",
    });
    expect((await eventsOf(stack.sql, user)).map((e) => e.type)).toEqual(
      expect.arrayContaining(["dpop_key_mismatch", "session_revoked"]),
    );
    const own = await stack.refresh(started.refresh_token, {
      dpop: await proof(device, "POST", `${stack.server.url}/refresh`),
    });
    expect(own.body.error).toBe("session_revoked");
  });
});
