/**
 * Client logic of the SDK against an in-process fake of the session function
 * (tests/support/sdk/fake-server.ts): refresh coordination, retries, events, errors.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type Coordinator,
  createSessionClient,
  localCoordinator,
  memoryStorage,
  type SessionClient,
  type SessionClientOptions,
  SessionError,
  type StorageAdapter,
} from "../../../packages/client/src/index.ts";
import { FakeSessionServer } from "../../support/sdk/fake-server.ts";

const URL_BASE = "http://127.0.0.1:54321/functions/v1/session";
const clients: SessionClient[] = [];
let keySeq = 0;

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  vi.useRealTimers();
});

/** A clock the test moves by hand. */
function clock(start = 1_800_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

function setup(opts: { grace?: number; accessTtl?: number } = {}) {
  const time = clock();
  const server = new FakeSessionServer({ now: time.now, ...opts });
  const storage = memoryStorage();
  const storageKey = `test.${++keySeq}`;
  const make = (extra: Partial<SessionClientOptions> = {}) => {
    const client = createSessionClient({
      url: URL_BASE,
      fetch: server.fetch,
      now: time.now,
      storage,
      storageKey,
      autoRefresh: false,
      retryDelays: [5, 10, 20],
      ...extra,
    });
    clients.push(client);
    return client;
  };
  return { time, server, storage, storageKey, make };
}

async function storedRefreshToken(
  storage: StorageAdapter,
  key: string,
): Promise<string> {
  return JSON.parse((await storage.get(key))!).refresh_token;
}

/** Records every event a client emits, in order. */
function record(client: SessionClient) {
  const log: string[] = [];
  client.on("signedIn", (e) => log.push(`signedIn:${e.source}`));
  client.on("tokensRefreshed", (e) => log.push(`tokensRefreshed:${e.source}`));
  client.on("signedOut", (e) => log.push(`signedOut:${e.reason}:${e.source}`));
  client.on(
    "theftDetected",
    (e) => log.push(`theftDetected:${e.error.code}:${e.source}`),
  );
  return log;
}

describe("start and getAccessToken", () => {
  it("stores the session and returns its access token without refreshing while fresh", async () => {
    const { server, make } = setup();
    const client = make();
    const log = record(client);
    const info = await client.start("clerk:user_1", { deviceName: "Laptop" });
    expect(info.user_id).toBe("user_1");
    expect(server.calls[0]).toMatchObject({
      path: "/start",
      authorization: "Bearer clerk:user_1",
    });
    expect(server.calls[0]!.body).toEqual({ device_name: "Laptop" });
    const token = await client.getAccessToken();
    expect(token).toMatch(/^access:fam-1:0:/);
    expect(server.refreshCalls()).toBe(0);
    expect(log).toEqual(["signedIn:this"]);
  });

  it("returns null when signed out", async () => {
    const { make } = setup();
    expect(await make().getAccessToken()).toBeNull();
  });

  it("refreshes once the token is within the margin of expiry", async () => {
    const { time, server, make } = setup({ accessTtl: 600 });
    const client = make({ refreshMargin: 60 });
    await client.start("clerk:user_1");
    time.advance(539_000);
    await client.getAccessToken();
    expect(server.refreshCalls()).toBe(0);
    time.advance(2_000);
    expect(await client.getAccessToken()).toMatch(/^access:fam-1:1:/);
    expect(server.refreshCalls()).toBe(1);
  });

  it("picks up a session another client stored, also after being signed out", async () => {
    const { make } = setup();
    const a = make();
    const b = make({ coordinator: isolatedCoordinator() });
    expect(await b.getAccessToken()).toBeNull();
    await a.start("clerk:user_1");
    expect(await b.getAccessToken()).toMatch(/^access:fam-1:0:/);
  });
});

describe("single-flight refresh", () => {
  it("N concurrent getAccessToken calls cause one refresh", async () => {
    const { time, server, make } = setup();
    const client = make();
    await client.start("clerk:user_1");
    server.latency = 20;
    time.advance(600_000);
    const tokens = await Promise.all(
      Array.from({ length: 25 }, () => client.getAccessToken()),
    );
    expect(server.refreshCalls()).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toMatch(/^access:fam-1:1:/);
  });

  it("concurrent refresh() and getAccessToken() share one rotation", async () => {
    const { time, server, make } = setup();
    const client = make();
    await client.start("clerk:user_1");
    server.latency = 10;
    time.advance(600_000);
    await Promise.all([
      client.refresh(),
      client.getAccessToken(),
      client.refresh(),
    ]);
    expect(server.refreshCalls()).toBe(1);
  });

  it("two clients sharing storage (two tabs) refreshing together never present a spent token", async () => {
    // Grace 0: any repeat of a token is reuse, so a single uncoordinated double refresh fails.
    const { time, server, make } = setup({ grace: 0 });
    const a = make();
    const b = make();
    const logA = record(a);
    const logB = record(b);
    await a.start("clerk:user_1");
    server.latency = 3;
    for (let round = 1; round <= 20; round++) {
      time.advance(600_000);
      const [ta, tb] = await Promise.all([
        a.getAccessToken(),
        b.getAccessToken(),
      ]);
      expect(ta).not.toBeNull();
      expect(tb).toBe(ta);
      expect(server.refreshCalls()).toBe(round);
    }
    expect(server.families.get("fam-1")!.revoked).toBe(false);
    expect(logA.concat(logB).some((e) => e.startsWith("signedOut"))).toBe(
      false,
    );
    expect(logB).toContain("tokensRefreshed:other-tab");
  });

  it("a tab that missed the hand-over re-reads storage under the lock and adopts the rotated tokens", async () => {
    const { time, server, storage, storageKey, make } = setup({ grace: 0 });
    const a = make({ coordinator: isolatedCoordinator() });
    const b = make({ coordinator: isolatedCoordinator() });
    await a.start("clerk:user_1");
    expect(await b.getAccessToken()).not.toBeNull(); // b caches generation 0
    time.advance(600_000);
    await a.getAccessToken(); // a rotates to generation 1; b hears nothing
    const tb = await b.getAccessToken();
    expect(server.refreshCalls()).toBe(1);
    expect(tb).toMatch(/^access:fam-1:1:/);
    expect(await storedRefreshToken(storage, storageKey)).toBe("fam-1.1");
    expect(server.families.get("fam-1")!.revoked).toBe(false);
  });

  it("without the lock the same race is theft (the test above can fail)", async () => {
    const { time, server, make } = setup({ grace: 0 });
    const noLock: Coordinator = {
      ...isolatedCoordinator(),
      withLock: (_name, fn) => fn(),
    };
    const a = make({ coordinator: noLock });
    const b = make({ coordinator: noLock });
    await a.start("clerk:user_1");
    await b.getAccessToken();
    server.latency = 5;
    time.advance(600_000);
    await Promise.all([a.getAccessToken(), b.getAccessToken()]);
    expect(server.families.get("fam-1")!.revoked).toBe(true);
  });
});

describe("retries on network failure", () => {
  it("retries with the same refresh token when the answer is lost and gets the identical successor", async () => {
    const { time, server, storage, storageKey, make } = setup();
    const client = make();
    await client.start("clerk:user_1");
    time.advance(600_000);
    server.fail("/refresh", "drop-response", "drop-request", "503");
    const token = await client.getAccessToken();
    expect(token).toMatch(/^access:fam-1:1:/);
    const presented = server.calls.filter((c) => c.path === "/refresh").map((
      c,
    ) => c.body);
    expect(presented).toEqual([
      { refresh_token: "fam-1.0" }, // rotated, answer lost
      { refresh_token: "fam-1.0" }, // 503
      { refresh_token: "fam-1.0" }, // grace: identical successor
    ]);
    expect(await storedRefreshToken(storage, storageKey)).toBe("fam-1.1");
    expect(server.families.get("fam-1")!).toMatchObject({
      generation: 1,
      revoked: false,
    });
  });

  it("gives up with network_error after the retries, keeping the session", async () => {
    const { time, server, storage, storageKey, make } = setup();
    const client = make({ retryDelays: [5] });
    await client.start("clerk:user_1");
    time.advance(600_000);
    server.fail("/refresh", "drop-request", "drop-request");
    const err = await client.refresh().catch((e) => e);
    expect(err).toBeInstanceOf(SessionError);
    expect(err.code).toBe("network_error");
    expect(await storedRefreshToken(storage, storageKey)).toBe("fam-1.0");
    // The server never saw it, so the same token still works.
    expect(await client.getAccessToken()).toMatch(/^access:fam-1:1:/);
  });

  it("never starts a retry after the retry budget", async () => {
    const { time, server, make } = setup();
    const client = make({ retryDelays: [50, 50, 50], retryBudget: 30 });
    await client.start("clerk:user_1");
    time.advance(600_000);
    server.fail("/refresh", "drop-request", "drop-request");
    await expect(client.refresh()).rejects.toMatchObject({
      code: "network_error",
    });
    expect(server.calls.filter((c) => c.path === "/refresh")).toHaveLength(0);
  });

  it("keeps handing out a not-yet-expired token while the refresh fails", async () => {
    const { time, server, make } = setup({ accessTtl: 600 });
    const client = make({ retryDelays: [] });
    await client.start("clerk:user_1");
    time.advance(580_000); // inside the 60 s margin, not expired
    server.fail("/refresh", "drop-request");
    expect(await client.getAccessToken()).toMatch(/^access:fam-1:0:/);
    time.advance(30_000); // expired now
    server.fail("/refresh", "drop-request");
    await expect(client.getAccessToken()).rejects.toMatchObject({
      code: "network_error",
    });
  });

  it("does not retry /start (not idempotent)", async () => {
    const { server, make } = setup();
    server.fail("/start", "drop-response");
    await expect(make().start("clerk:user_1")).rejects.toMatchObject({
      code: "network_error",
    });
    expect(server.calls.filter((c) => c.path === "/start")).toHaveLength(1);
  });
});

describe("theft and revocation", () => {
  it("reuse: clears storage, emits theftDetected then signedOut, here and in the other tab", async () => {
    const { time, server, storage, storageKey, make } = setup();
    const a = make();
    const b = make();
    const logA = record(a);
    const logB = record(b);
    await a.start("clerk:user_1");
    await b.getAccessToken();
    // An attacker with a copy of the refresh token rotates twice: the client's copy is now two generations old.
    const stolen = await storedRefreshToken(storage, storageKey);
    for (const t of [stolen, "fam-1.1"]) {
      await server.fetch(`${URL_BASE}/refresh`, {
        method: "POST",
        body: JSON.stringify({ refresh_token: t }),
      });
    }
    time.advance(600_000);
    const err = await a.refresh().catch((e) => e);
    expect(err).toBeInstanceOf(SessionError);
    expect(err.code).toBe("refresh_token_reused");
    expect(err.status).toBe(401);
    expect(await storage.get(storageKey)).toBeNull();
    expect(await a.getAccessToken()).toBeNull();
    await new Promise((r) => setTimeout(r, 0));
    expect(logA).toEqual([
      "signedIn:this",
      "theftDetected:refresh_token_reused:this",
      "signedOut:refresh_token_reused:this",
    ]);
    expect(logB).toEqual([
      "signedIn:other-tab",
      "theftDetected:refresh_token_reused:other-tab",
      "signedOut:refresh_token_reused:other-tab",
    ]);
  });

  it("getAccessToken answers null (not an error) when the refresh finds the session revoked", async () => {
    const { time, server, make } = setup();
    const client = make();
    const log = record(client);
    await client.start("clerk:user_1");
    server.families.get("fam-1")!.revoked = true;
    time.advance(600_000);
    expect(await client.getAccessToken()).toBeNull();
    expect(log).toContain("signedOut:session_revoked:this");
  });

  it("a revoked session surfaces on the next API call: session_revoked, signed out", async () => {
    const { server, storage, storageKey, make } = setup();
    const client = make();
    const log = record(client);
    await client.start("clerk:user_1");
    server.families.get("fam-1")!.revoked = true;
    await expect(client.listSessions()).rejects.toMatchObject({
      code: "session_revoked",
      status: 401,
    });
    expect(await storage.get(storageKey)).toBeNull();
    expect(log).toContain("signedOut:session_revoked:this");
  });

  it("an access token refused as invalid_token triggers one rotation and a retry", async () => {
    const { server, make } = setup();
    const client = make();
    await client.start("clerk:user_1");
    const original = server.fetch;
    let refused = false;
    const flaky = make({
      fetch: async (input, init) => {
        if (!refused && String(input).endsWith("/sessions")) {
          refused = true;
          return new Response(JSON.stringify({ error: "invalid_token" }), {
            status: 401,
          });
        }
        return original(input, init);
      },
    });
    const sessions = await flaky.listSessions();
    expect(sessions).toHaveLength(1);
    expect(server.refreshCalls()).toBe(1);
  });
});

describe("sign-out and device management", () => {
  it("signOut('local') ends the session on the server and here", async () => {
    const { server, storage, storageKey, make } = setup();
    const client = make();
    const log = record(client);
    await client.start("clerk:user_1");
    await client.signOut();
    expect(server.calls.at(-1)).toMatchObject({
      path: "/signout",
      body: { scope: "local" },
    });
    expect(server.families.get("fam-1")!.revoked).toBe(true);
    expect(await storage.get(storageKey)).toBeNull();
    expect(log.at(-1)).toBe("signedOut:signed_out:this");
  });

  it("signOut('others') keeps this session", async () => {
    const { server, make } = setup();
    const phone = make({ storage: memoryStorage() });
    await phone.start("clerk:user_1");
    const laptop = make();
    await laptop.start("clerk:user_1");
    await laptop.signOut("others");
    expect(await laptop.getAccessToken()).not.toBeNull();
    expect(server.families.get("fam-1")!.revoked).toBe(true);
    expect(server.families.get("fam-2")!.revoked).toBe(false);
    await expect(phone.listSessions()).rejects.toMatchObject({
      code: "session_revoked",
    });
  });

  it("signOut clears locally even when the server cannot be reached, and says so", async () => {
    const { server, storage, storageKey, make } = setup();
    const client = make();
    await client.start("clerk:user_1");
    server.fail("/signout", "drop-request");
    await expect(client.signOut()).rejects.toMatchObject({
      code: "network_error",
    });
    expect(await storage.get(storageKey)).toBeNull();
  });

  it("lists sessions, revokes another one, and revoking this one signs out here", async () => {
    const { server, make } = setup();
    const other = make({ storage: memoryStorage() });
    await other.start("clerk:user_1", { deviceName: "Phone" });
    const client = make();
    const log = record(client);
    await client.start("clerk:user_1", { deviceName: "Laptop" });
    const sessions = await client.listSessions();
    expect(sessions.map((s) => [s.device_name, s.current])).toEqual([[
      "Phone",
      false,
    ], ["Laptop", true]]);
    await client.revokeSession("fam-1");
    expect(server.families.get("fam-1")!.revoked).toBe(true);
    await expect(client.revokeSession("fam-999")).rejects.toMatchObject({
      code: "not_found",
      status: 404,
    });
    await client.revokeSession("fam-2");
    expect(await client.getAccessToken()).toBeNull();
    expect(log.at(-1)).toBe("signedOut:signed_out:this");
  });

  it("listEvents returns the server's list; calls without a session reject with not_signed_in", async () => {
    const { make } = setup();
    const client = make();
    await expect(client.listEvents()).rejects.toMatchObject({
      code: "not_signed_in",
    });
    await client.start("clerk:user_1");
    expect(await client.listEvents()).toEqual([]);
  });
});

describe("errors", () => {
  it("server errors surface with their SPEC code; unknown codes become server_error", async () => {
    const respond = (status: number, body: string) => async () => new Response(body, { status });
    const { make } = setup();
    await expect(
      make({ fetch: respond(401, '{"error":"invalid_token"}') }).start("x"),
    ).rejects.toMatchObject({
      code: "invalid_token",
      status: 401,
    });
    await expect(make({ fetch: respond(400, '{"error":"teapot"}') }).start("x"))
      .rejects.toMatchObject({
        code: "server_error",
      });
    await expect(
      make({ fetch: respond(502, "<html>bad gateway</html>") }).start("x"),
    ).rejects.toMatchObject({
      code: "server_error",
      status: 502,
    });
    await expect(make({ fetch: respond(200, '{"access_token":1}') }).start("x"))
      .rejects.toMatchObject({
        code: "invalid_response",
      });
    const limited = async () =>
      new Response('{"error":"rate_limited"}', {
        status: 429,
        headers: { "retry-after": "7" },
      });
    await expect(make({ fetch: limited }).start("x")).rejects.toMatchObject({
      code: "rate_limited",
      retryAfter: 7,
    });
  });
});

describe("proactive refresh", () => {
  it("refreshes on a timer shortly before expiry", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const server = new FakeSessionServer({ accessTtl: 600 });
    const client = createSessionClient({
      url: URL_BASE,
      fetch: server.fetch,
      storage: memoryStorage(),
      refreshMargin: 60,
    });
    clients.push(client);
    const refreshed = vi.fn();
    client.on("tokensRefreshed", refreshed);
    await client.start("clerk:user_1");
    await vi.advanceTimersByTimeAsync(530_000);
    expect(server.refreshCalls()).toBe(0);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(server.refreshCalls()).toBe(1);
    expect(refreshed).toHaveBeenCalledWith(
      expect.objectContaining({ source: "this" }),
    );
    await vi.advanceTimersByTimeAsync(545_000);
    expect(server.refreshCalls()).toBe(2);
  });
});

/** A coordinator with the shared in-process lock but no hand-over messages (a tab that misses them). */
function isolatedCoordinator(): Coordinator {
  const lock = localCoordinator("lock-only");
  return {
    withLock: (name, fn) => lock.withLock(name, fn),
    publish: () => undefined,
    subscribe: () => () => undefined,
    close: () => undefined,
  };
}
