/**
 * The SDK in Node against the real session function (Deno, real Postgres): sign-in,
 * concurrent refreshes of two clients sharing storage, retries after a lost answer,
 * theft detection, revocation reaching another device.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSessionClient,
  memoryStorage,
  type SessionClient,
  type SessionClientOptions,
  type StorageAdapter,
} from "../../packages/client/src/index.ts";
import { testDatabaseUrl } from "../support/context.ts";
import { clerkId, type ClerkIssuer, startClerkIssuer } from "../../scripts/lib/clerk-issuer.ts";
import { refreshSecret, signingJwk } from "../../scripts/lib/throwaway-keys.ts";
import { type SessionServer, startSessionServer } from "../../scripts/lib/session-server.ts";

let issuer: ClerkIssuer;
/** Default settings: 10 s reuse grace. */
let server: SessionServer;
/** Grace 0: any repeat of a refresh token is theft, so only a coordinated client survives races. */
let strict: SessionServer;
const clients: SessionClient[] = [];

beforeAll(async () => {
  issuer = await startClerkIssuer();
  const settings = {
    CLERK_ISSUER: issuer.issuer,
    CLERK_JWKS_URL: issuer.jwksUrl,
    CLERK_AUTHORIZED_PARTIES: "http://localhost:3000",
    SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
    SESSION_REFRESH_SECRET: refreshSecret(),
    DATABASE_URL: testDatabaseUrl(),
    SESSION_RATE_LIMITS: "off",
    SESSION_ISSUER: "http://127.0.0.1:54321/functions/v1/session",
  };
  [server, strict] = await Promise.all([
    startSessionServer(settings),
    startSessionServer({ ...settings, SESSION_REUSE_GRACE: "0" }),
  ]);
});

afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all([server?.stop(), strict?.stop(), issuer?.stop()]);
});

/** A clock the test moves by hand, so "near expiry" needs no waiting. */
function clock() {
  let t = Date.now();
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

function client(
  base: SessionServer,
  extra: Partial<SessionClientOptions> = {},
): SessionClient {
  const c = createSessionClient({
    url: base.url,
    storage: memoryStorage(),
    autoRefresh: false,
    // Unbound on purpose: these tests are about what a copied bearer refresh token can do
    // (the SDK binds by default; tests/integration/dpop-sdk.test.ts covers bound sessions).
    dpop: false,
    ...extra,
  });
  clients.push(c);
  return c;
}

async function refreshTokenIn(storage: StorageAdapter): Promise<string> {
  return JSON.parse((await storage.get("sessionguard.session"))!).refresh_token;
}

describe("SDK against the real server", () => {
  it("starts a session, lists it as this device, and sees the session_started event", async () => {
    const user = clerkId("user");
    const sessions = client(server);
    const info = await sessions.start(await issuer.token({ sub: user }), {
      deviceName: "Integration laptop",
    });
    expect(info.user_id).toBe(user);
    const list = await sessions.listSessions();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id: info.session_id,
      device_name: "Integration laptop",
      current: true,
    });
    const events = await sessions.listEvents();
    expect(events.map((e) => e.type)).toContain("session_started");
  });

  it("rejects a bad Clerk token with invalid_token", async () => {
    await expect(client(server).start("not-a-jwt")).rejects.toMatchObject({
      code: "invalid_token",
      status: 401,
    });
  });

  it("two clients sharing storage refresh at the same moment, many times: never signed out (grace 0)", async () => {
    const time = clock();
    const storage = memoryStorage();
    const a = client(strict, { storage, now: time.now });
    const b = client(strict, { storage, now: time.now });
    const signedOut: string[] = [];
    for (const c of [a, b]) c.on("signedOut", (e) => signedOut.push(e.reason));
    await a.start(await issuer.token({ sub: clerkId("user") }));
    let previous = await refreshTokenIn(storage);
    for (let round = 0; round < 15; round++) {
      time.advance(10 * 60_000);
      const tokens = await Promise.all([
        a.getAccessToken(),
        b.getAccessToken(),
        a.getAccessToken(),
      ]);
      expect(tokens[0]).not.toBeNull();
      expect(new Set(tokens).size).toBe(1);
      const next = await refreshTokenIn(storage);
      expect(next).not.toBe(previous);
      previous = next;
    }
    expect(signedOut).toEqual([]);
    expect(await a.listSessions()).toHaveLength(1);
  });

  it("retries a refresh whose answer was lost with the same token and gets the identical successor", async () => {
    const time = clock();
    const storage = memoryStorage();
    const presented: string[] = [];
    let lose = 2;
    const lossy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (String(input).endsWith("/refresh")) {
        presented.push(JSON.parse(String(init!.body)).refresh_token);
        if (lose-- > 0) throw new TypeError("connection reset"); // the server rotated; the answer is lost
      }
      return res;
    };
    const sessions = client(server, {
      storage,
      now: time.now,
      fetch: lossy,
      retryDelays: [50, 100],
    });
    await sessions.start(await issuer.token({ sub: clerkId("user") }));
    const original = await refreshTokenIn(storage);
    time.advance(10 * 60_000);
    expect(await sessions.getAccessToken()).not.toBeNull();
    expect(presented).toEqual([original, original, original]);
    const successor = await refreshTokenIn(storage);
    expect(successor).not.toBe(original);
    const events = await sessions.listEvents();
    expect(events.map((e) => e.type)).not.toContain("refresh_token_reused");
    // And the successor is a live token: one more rotation works.
    await sessions.refresh();
  });

  it("a replayed spent token revokes the session: the device is signed out on its next request", async () => {
    const storage = memoryStorage();
    const sessions = client(server, { storage });
    const events: string[] = [];
    sessions.on("signedOut", (e) => events.push(`signedOut:${e.reason}`));
    const user = clerkId("user");
    await sessions.start(await issuer.token({ sub: user }));
    const stolen = await refreshTokenIn(storage);
    await sessions.refresh();
    await sessions.refresh();
    const replay = await fetch(`${server.url}/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: stolen }),
    });
    expect(replay.status).toBe(401);
    expect((await replay.json()).error).toBe("refresh_token_reused");
    await expect(sessions.listSessions()).rejects.toMatchObject({
      code: "session_revoked",
    });
    expect(events).toEqual(["signedOut:session_revoked"]);
    expect(await storage.get("sessionguard.session")).toBeNull();

    const again = client(server);
    await again.start(await issuer.token({ sub: user }));
    const types = (await again.listEvents()).map((e) => e.type);
    expect(types).toContain("refresh_token_reused");
  });

  it("the client presenting an old token itself gets theftDetected", async () => {
    const storage = memoryStorage();
    const sessions = client(server, { storage });
    const seen: string[] = [];
    sessions.on("theftDetected", (e) => seen.push(e.error.code));
    sessions.on("signedOut", (e) => seen.push(`signedOut:${e.reason}`));
    await sessions.start(await issuer.token({ sub: clerkId("user") }));
    // A thief with a copy rotates twice; the client's token is now two generations old.
    let token = await refreshTokenIn(storage);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${server.url}/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: token }),
      });
      token = (await res.json()).refresh_token;
    }
    await expect(sessions.refresh()).rejects.toMatchObject({
      code: "refresh_token_reused",
    });
    expect(seen).toEqual([
      "refresh_token_reused",
      "signedOut:refresh_token_reused",
    ]);
  });

  it("revoking a device from another one signs it out on its next request; signOut('others') too", async () => {
    const user = clerkId("user");
    const laptop = client(server);
    const phone = client(server);
    const tablet = client(server);
    const phoneInfo = await phone.start(await issuer.token({ sub: user }), {
      deviceName: "Phone",
    });
    await tablet.start(await issuer.token({ sub: user }), {
      deviceName: "Tablet",
    });
    await laptop.start(await issuer.token({ sub: user }), {
      deviceName: "Laptop",
    });
    expect((await laptop.listSessions()).map((s) => s.device_name).sort())
      .toEqual([
        "Laptop",
        "Phone",
        "Tablet",
      ]);

    await laptop.revokeSession(phoneInfo.session_id);
    await expect(phone.listSessions()).rejects.toMatchObject({
      code: "session_revoked",
    });
    expect(await phone.getAccessToken()).toBeNull();

    await laptop.signOut("others");
    await expect(tablet.listEvents()).rejects.toMatchObject({
      code: "session_revoked",
    });
    const left = await laptop.listSessions();
    expect(left.map((s) => [s.device_name, s.current])).toEqual([[
      "Laptop",
      true,
    ]]);

    await expect(laptop.revokeSession("00000000-0000-0000-0000-000000000000"))
      .rejects.toMatchObject({
        code: "not_found",
      });
  });
});
