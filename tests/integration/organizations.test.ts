/**
 * P15 against the real Deno server and Postgres: the organization and impersonator of a
 * Clerk session token (v2 `o`, v1 `org_*`, `act`) are recorded at /start and carried in
 * access tokens; POST /claims applies a fresh token of the same Clerk session and
 * refuses any other (another Clerk session, another user, a stale token, a bound session
 * without its key), changing nothing; racing updates end on the newest token.
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { eventsOf } from "../support/database-rows.ts";
import { deviceKey, proof } from "../support/dpop.ts";
import { type Stack, startStack, type TokenResponse } from "../support/stack.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** Clerk v2 organization claims: features `fea`, permission names `per`, and one bitmask per feature. */
const ACME_V2 = {
  o: { id: "org_acme", rol: "admin", slg: "acme", per: "read,write", fpm: "3,2" },
  fea: "o:projects,o:billing,u:profile",
};
const GLOBEX_V2 = { o: { id: "org_globex", rol: "member", slg: "globex", per: "read", fpm: "1" }, fea: "o:projects" };

async function start(
  userId: string,
  sid: string,
  claims: Record<string, unknown> = {},
  shift = 0,
): Promise<TokenResponse> {
  const response = await stack.call("/start", {
    method: "POST",
    token: await stack.clerk.token({ sub: userId, sid, ...claims }, { shift }),
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

async function claims(accessToken: string, clerkToken: string, headers: Record<string, string> = {}) {
  return await stack.call("/claims", { token: accessToken, json: { clerk_token: clerkToken }, headers });
}

async function row(id: string) {
  const [family] = await stack.sql<
    { org_id: string | null; org_role: string | null; org_permissions: string[] | null; claims_issued_at: Date }[]
  >`select org_id, org_role, org_permissions, claims_issued_at from sessionguard.families where id = ${id}`;
  return family;
}

describe("organization claims at /start", () => {
  it("v2 `o` is decoded as Clerk's SDK does and carried in the access token", async () => {
    const started = await start(clerkId("user"), clerkId("sess"), ACME_V2);
    const access = decodeJwt(started.access_token);
    expect(access.org_id).toBe("org_acme");
    expect(access.org_role).toBe("org:admin");
    // fpm 3 = 0b11 on projects: read and write; 2 = 0b10 on billing: read only.
    expect(access.org_permissions).toEqual(["org:projects:read", "org:projects:write", "org:billing:read"]);
    expect(await row(started.session.id)).toMatchObject({ org_id: "org_acme", org_role: "org:admin" });
  });

  it("v1 `org_*` claims are read too", async () => {
    const started = await start(clerkId("user"), clerkId("sess"), {
      v: undefined,
      org_id: "org_v1",
      org_role: "org:member",
      org_slug: "v-one",
      org_permissions: ["org:projects:read"],
    });
    expect(decodeJwt(started.access_token)).toMatchObject({
      org_id: "org_v1",
      org_role: "org:member",
      org_permissions: ["org:projects:read"],
    });
  });

  it("no organization, no claims; an impersonator is carried as act.sub", async () => {
    const started = await start(clerkId("user"), clerkId("sess"), { act: { sub: "user_support", iss: "x" } });
    const access = decodeJwt(started.access_token);
    expect(access.org_id).toBeUndefined();
    expect(access.act).toEqual({ sub: "user_support" });
    const refreshed = await stack.refresh(started.refresh_token);
    expect(decodeJwt(refreshed.body.access_token).act).toEqual({ sub: "user_support" });
  });

  it("a malformed organization claim refuses the token and starts nothing", async () => {
    const userId = clerkId("user");
    const response = await stack.call("/start", {
      method: "POST",
      token: await stack.clerk.token({ sub: userId, o: { id: 42 } }),
    });
    expect(response.status).toBe(401);
    expect(response.body.error).toBe("invalid_token");
    expect(await eventsOf(stack.sql, userId)).toEqual([]);
  });
});

describe("POST /claims", () => {
  it("switches the organization with a fresh token of the same Clerk session, with an event", async () => {
    const [userId, sid] = [clerkId("user"), clerkId("sess")];
    const started = await start(userId, sid, ACME_V2);
    const response = await claims(started.access_token, await stack.clerk.token({ sub: userId, sid, ...GLOBEX_V2 }));
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(decodeJwt(response.body.access_token)).toMatchObject({
      sid: started.session.id,
      org_id: "org_globex",
      org_role: "org:member",
    });
    expect(response.body.refresh_token).toBeUndefined();
    expect((await row(started.session.id)).org_id).toBe("org_globex");
    const events = await eventsOf(stack.sql, userId);
    expect(events.map((e) => e.type)).toContain("session_claims_changed");
    // The refresh token still works, and the access tokens it issues carry the new organization.
    const refreshed = await stack.refresh(started.refresh_token);
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.body.access_token)).toMatchObject({ org_id: "org_globex", org_role: "org:member" });
  });

  it("leaving every organization clears it", async () => {
    const [userId, sid] = [clerkId("user"), clerkId("sess")];
    const started = await start(userId, sid, ACME_V2);
    const response = await claims(started.access_token, await stack.clerk.token({ sub: userId, sid }));
    expect(response.status).toBe(200);
    expect(decodeJwt(response.body.access_token).org_id).toBeUndefined();
    expect((await row(started.session.id)).org_id).toBeNull();
  });

  describe("refuses, and changes nothing", () => {
    it("a token of another Clerk session of the same user", async () => {
      const [userId, sid] = [clerkId("user"), clerkId("sess")];
      const started = await start(userId, sid, ACME_V2);
      const before = await row(started.session.id);
      const other = await stack.clerk.token({ sub: userId, sid: clerkId("sess"), ...GLOBEX_V2 });
      const response = await claims(started.access_token, other);
      expect(response.status).toBe(401);
      expect(response.body.error).toBe("invalid_token");
      expect(await row(started.session.id)).toEqual(before);
    });

    it("a token of another user, even of a Clerk session id it names", async () => {
      const [userId, sid] = [clerkId("user"), clerkId("sess")];
      const started = await start(userId, sid, ACME_V2);
      const before = await row(started.session.id);
      const response = await claims(
        started.access_token,
        await stack.clerk.token({ sub: clerkId("user"), sid, ...GLOBEX_V2 }),
      );
      expect(response.status).toBe(401);
      expect(response.body.error).toBe("invalid_token");
      expect(await row(started.session.id)).toEqual(before);
    });

    it("a token older than the one already applied (stale)", async () => {
      const [userId, sid] = [clerkId("user"), clerkId("sess")];
      const started = await start(userId, sid, ACME_V2);
      const before = await row(started.session.id);
      const old = await stack.clerk.token({ sub: userId, sid, ...GLOBEX_V2 }, { shift: -30 });
      const response = await claims(started.access_token, old);
      expect(response.status).toBe(401);
      expect(response.body.error).toBe("invalid_token");
      expect(await row(started.session.id)).toEqual(before);
    });

    it("no access token, a bad Clerk token, or no clerk_token", async () => {
      const [userId, sid] = [clerkId("user"), clerkId("sess")];
      const started = await start(userId, sid, ACME_V2);
      const before = await row(started.session.id);
      const fresh = await stack.clerk.token({ sub: userId, sid, ...GLOBEX_V2 });
      expect((await stack.call("/claims", { json: { clerk_token: fresh } })).status).toBe(401);
      expect((await claims(started.access_token, fresh.slice(0, -4) + "AAAA")).body.error).toBe("invalid_token");
      const empty = await stack.call("/claims", { token: started.access_token, json: {} });
      expect(empty.status).toBe(400);
      const malformed = await stack.call("/claims", {
        token: started.access_token,
        raw: '{"clerk_token": ',
        headers: { "content-type": "application/json" },
      });
      expect(malformed.body.error).toBe("invalid_request");
      expect((await stack.call("/claims", { token: started.access_token })).status).toBe(405);
      expect(await row(started.session.id)).toEqual(before);
    });

    it("a device-bound session without a proof from its key", async () => {
      const [userId, sid] = [clerkId("user"), clerkId("sess")];
      const key = await deviceKey();
      const response = await stack.call("/start", {
        method: "POST",
        token: await stack.clerk.token({ sub: userId, sid, ...ACME_V2 }),
        headers: { dpop: await proof(key, "POST", `${stack.server.url}/start`) },
      });
      expect(response.status).toBe(200);
      const started = response.body as TokenResponse;
      const before = await row(started.session.id);
      const url = `${stack.server.url}/claims`;
      const auth = { authorization: `DPoP ${started.access_token}` };
      const fresh = () => stack.clerk.token({ sub: userId, sid, ...GLOBEX_V2 });
      const bare = await stack.call("/claims", { json: { clerk_token: await fresh() }, headers: auth });
      expect(bare.body.error).toBe("invalid_dpop_proof");
      const thief = await deviceKey();
      const stolen = await stack.call("/claims", {
        json: { clerk_token: await fresh() },
        headers: { ...auth, dpop: await proof(thief, "POST", url, { accessToken: started.access_token }) },
      });
      expect(stolen.body.error).toBe("invalid_dpop_proof");
      expect(await row(started.session.id)).toEqual(before);

      const owner = await stack.call("/claims", {
        json: { clerk_token: await fresh() },
        headers: { ...auth, dpop: await proof(key, "POST", url, { accessToken: started.access_token }) },
      });
      expect(owner.status, JSON.stringify(owner.body)).toBe(200);
      expect(owner.body.token_type).toBe("DPoP");
      expect(decodeJwt(owner.body.access_token)).toMatchObject({ org_id: "org_globex", cnf: { jkt: key.jkt } });
    });
  });

  it("concurrent switches end on the newest token, whatever order they land in", async () => {
    const [userId, sid] = [clerkId("user"), clerkId("sess")];
    const started = await start(userId, sid, ACME_V2, -20);
    const orgs = ["org_a", "org_b", "org_c", "org_d", "org_e"];
    // Issued 1 s apart (older first), sent all at once.
    const tokens = await Promise.all(
      orgs.map((id, i) => stack.clerk.token({ sub: userId, sid, o: { id, rol: "admin" } }, { shift: i - orgs.length })),
    );
    const answers = await Promise.all(tokens.map((token) => claims(started.access_token, token)));
    for (const answer of answers) {
      expect([200, 401]).toContain(answer.status);
      if (answer.status === 401) expect(answer.body.error).toBe("invalid_token");
    }
    expect(answers[orgs.length - 1].status).toBe(200);
    expect((await row(started.session.id)).org_id).toBe("org_e");
  });
});
