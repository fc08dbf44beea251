/**
 * P15's other half against the real Deno functions and Postgres: Clerk's Svix-signed
 * organization webhooks change the sessions in that organization (a role change, a
 * removal, a deleted organization: clear by default, revoke with SESSION_ORG_REMOVED),
 * each delivery once however often it arrives, and a bad signature changes nothing.
 * And SESSION_MAX_PER_USER at /start in both modes, with the event the user reads.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { type ApiResponse, call } from "../support/api.ts";
import {
  clerkEvent,
  type ClerkWebhookServer,
  newDeliveryId,
  newWebhookSecret,
  signDelivery,
  startClerkWebhookServer,
} from "../support/clerk-webhook-server.ts";
import { testDatabaseUrl } from "../support/context.ts";
import { eventsOf, userState } from "../support/database-rows.ts";
import { type Stack, startStack, type TokenResponse } from "../support/stack.ts";

let stack: Stack;
let clearing: ClerkWebhookServer;
let revoking: ClerkWebhookServer;
let secret: string;

beforeAll(async () => {
  secret = newWebhookSecret();
  [stack, clearing, revoking] = await Promise.all([
    startStack(),
    startClerkWebhookServer({ CLERK_WEBHOOK_SECRET: secret, DATABASE_URL: testDatabaseUrl() }),
    startClerkWebhookServer({
      CLERK_WEBHOOK_SECRET: secret,
      DATABASE_URL: testDatabaseUrl(),
      SESSION_ORG_REMOVED: "revoke",
    }),
  ]);
});
afterAll(async () => {
  await Promise.allSettled([clearing?.stop(), revoking?.stop(), stack?.stop()]);
});

async function startIn(userId: string, orgId: string, rol = "admin", shift = 0): Promise<TokenResponse> {
  const claims = { sub: userId, o: { id: orgId, rol, slg: orgId, per: "write", fpm: "1" }, fea: "o:projects" };
  const response = await stack.call("/start", {
    method: "POST",
    token: await stack.clerk.token(claims, { shift }),
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

function deliver(server: ClerkWebhookServer, event: unknown, id = newDeliveryId()): Promise<ApiResponse> {
  const signed = signDelivery(secret, event, { id });
  return call(server.url, "", { method: "POST", raw: signed.body, headers: signed.headers });
}

function membership(orgId: string, userId: string, role: string, permissions: string[] = []) {
  return { object: "organization_membership", id: `orgmem_${orgId}`, role, permissions,
    organization: { id: orgId, slug: orgId }, public_user_data: { user_id: userId } };
}

async function org(sessionId: string) {
  const [row] = await stack.sql<{ org_id: string | null; org_role: string | null; org_permissions: string[] | null; revoked_at: Date | null }[]>`
    select org_id, org_role, org_permissions, revoked_at from sessionguard.families where id = ${sessionId}`;
  return row;
}

describe("organization webhooks", () => {
  it("organizationMembership.updated changes the role on the user's sessions in that org, once", async () => {
    const [userId, orgId] = [clerkId("user"), `org_${clerkId("user").slice(5)}`];
    const inOrg = await startIn(userId, orgId);
    const elsewhere = await startIn(userId, `${orgId}_other`);
    const event = clerkEvent("organizationMembership.updated",
      membership(orgId, userId, "org:member", ["org:projects:read"]));
    const id = newDeliveryId();
    const answers = await Promise.all([deliver(clearing, event, id), deliver(clearing, event, id)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers.map((a) => a.body.result).sort()).toEqual(["applied", "duplicate"]);
    expect(await org(inOrg.session.id)).toMatchObject({ org_role: "org:member", org_permissions: ["org:projects:read"] });
    expect((await org(elsewhere.session.id)).org_role).toBe("org:admin");
    const changed = (await eventsOf(stack.sql, userId)).filter((e) => e.type === "org_role_changed");
    expect(changed.map((e) => e.session_id)).toEqual([inOrg.session.id]);
  });

  it("organizationMembership.deleted clears the organization (default), the session stays signed in", async () => {
    const [userId, orgId] = [clerkId("user"), `org_${clerkId("user").slice(5)}`];
    const started = await startIn(userId, orgId);
    const answer = await deliver(clearing, clerkEvent("organizationMembership.deleted", membership(orgId, userId, "org:admin")));
    expect(answer.body).toMatchObject({ result: "applied", changed: 1 });
    expect(await org(started.session.id)).toMatchObject({ org_id: null, org_role: null, revoked_at: null });
    expect((await stack.refresh(started.refresh_token)).status).toBe(200);
    // A Clerk token issued before the removal (still valid for up to 60 s) cannot start a
    // session in the organization.
    const late = await startIn(userId, orgId, "admin", -10);
    expect((await org(late.session.id)).org_id).toBeNull();
  });

  it("organization.deleted with SESSION_ORG_REMOVED=revoke ends every session in it", async () => {
    const orgId = `org_${clerkId("user").slice(5)}`;
    const [a, b] = [clerkId("user"), clerkId("user")];
    const [sa, sb] = await Promise.all([startIn(a, orgId), startIn(b, orgId, "member")]);
    const answer = await deliver(revoking, clerkEvent("organization.deleted", { object: "organization", id: orgId, deleted: true }));
    expect(answer.body).toMatchObject({ result: "applied", changed: 2 });
    expect((await stack.refresh(sa.refresh_token)).body.error).toBe("session_revoked");
    expect((await stack.refresh(sb.refresh_token)).body.error).toBe("session_revoked");
    expect((await eventsOf(stack.sql, a)).map((e) => e.type)).toContain("org_membership_ended");
  });

  it("a bad signature or a malformed event changes nothing", async () => {
    const [userId, orgId] = [clerkId("user"), `org_${clerkId("user").slice(5)}`];
    await startIn(userId, orgId);
    const before = await userState(stack.sql, userId);
    const event = clerkEvent("organizationMembership.deleted", membership(orgId, userId, "org:admin"));
    const forged = signDelivery(newWebhookSecret(), event);
    const refused = await call(clearing.url, "", { method: "POST", raw: forged.body, headers: forged.headers });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe("invalid_signature");
    const malformed = await deliver(clearing, clerkEvent("organizationMembership.updated",
      { organization: { id: orgId }, public_user_data: { user_id: userId } }));
    expect(malformed.status).toBe(400);
    expect(await userState(stack.sql, userId)).toBe(before);
  });
});

describe("SESSION_MAX_PER_USER", () => {
  let refusing: Stack;
  let revokingOldest: Stack;
  beforeAll(async () => {
    [refusing, revokingOldest] = await Promise.all([
      startStack({ SESSION_MAX_PER_USER: "2", SESSION_MAX_PER_USER_MODE: "refuse" }),
      startStack({ SESSION_MAX_PER_USER: "2" }),
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled([refusing?.stop(), revokingOldest?.stop()]);
  });

  it("revoke-oldest (the default mode) signs out the least recently used session and says why", async () => {
    const userId = clerkId("user");
    const first = await revokingOldest.start(userId, { "user-agent": "Laptop" });
    const second = await revokingOldest.start(userId);
    expect((await revokingOldest.refresh(first.refresh_token)).status).toBe(200); // first is now the most recent
    const third = await revokingOldest.start(userId);
    expect((await revokingOldest.refresh(second.refresh_token)).body.error).toBe("session_revoked");
    const events = await revokingOldest.call("/events", { token: third.access_token });
    const limit = events.body.events.find((e: { type: string }) => e.type === "session_limit_reached");
    expect(limit.session_id).toBe(second.session.id);
    expect(limit.description).toMatch(/allows at most 2 active sessions/);
  });

  it("refuse answers 400, starts nothing, and the event log says why; concurrent starts never exceed it", async () => {
    const userId = clerkId("user");
    const answers = await Promise.all([1, 2, 3, 4].map(async () =>
      refusing.call("/start", { method: "POST", token: await refusing.clerk.token({ sub: userId }) })
    ));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(2);
    for (const refused of answers.filter((a) => a.status !== 200)) expect(refused.body.error).toBe("invalid_request");
    const [live] = await refusing.sql<{ n: number }[]>`
      select count(*)::int as n from sessionguard.families where user_id = ${userId} and revoked_at is null`;
    expect(live.n).toBe(2);
    const token = answers.find((a) => a.status === 200)!.body.access_token;
    const events = (await refusing.call("/events", { token })).body.events as { type: string; description: string }[];
    const refusals = events.filter((e) => e.type === "session_limit_reached");
    expect(refusals).toHaveLength(2);
    expect(refusals[0].description).toMatch(/was refused: you already have 2 active sessions/);
  });
});
