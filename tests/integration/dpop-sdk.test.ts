/**
 * The SDK's device binding (packages/client/src/key-store.ts, `dpop: true`) in Node against the
 * real Deno server and Postgres: binding at start, proofs on every route, the
 * nonce challenge, clock skew, shared storage racing at grace 0, key deleted on
 * sign-out, a lost key, keys in files across a restart.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createSessionClient,
  memoryStorage,
  type SessionClient,
  type SessionClientOptions,
} from "../../packages/client/src/index.ts";
import {
  type DpopKeyStore,
  fileKeyStore,
  memoryKeyStore,
} from "../../packages/client/src/key-store.ts";
import type { StorageAdapter } from "../../packages/client/src/storage.ts";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { eventsOf } from "../support/database-rows.ts";
import { type Stack, startStack } from "../support/stack.ts";

let optional: Stack;
let strict: Stack;
let nonces: Stack;
let off: Stack;
const clients: SessionClient[] = [];

beforeAll(async () => {
  [optional, strict, nonces, off] = await Promise.all([
    startStack({ SESSION_RATE_LIMITS: "off" }),
    startStack({ SESSION_RATE_LIMITS: "off", SESSION_REUSE_GRACE: "0" }),
    startStack({ SESSION_RATE_LIMITS: "off", SESSION_DPOP_NONCE: "on" }),
    startStack({ SESSION_RATE_LIMITS: "off", SESSION_DPOP: "off" }),
  ]);
});
afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all([optional, strict, nonces, off].map((s) => s?.stop()));
});

function client(
  stack: Stack,
  extra: Partial<SessionClientOptions> = {},
): SessionClient {
  const c = createSessionClient({
    url: stack.server.url,
    storage: memoryStorage(),
    autoRefresh: false,
    dpop: true,
    ...extra,
  });
  clients.push(c);
  return c;
}

/** A fetch that records what the SDK sent and what came back. */
function recordingFetch() {
  const seen: {
    path: string;
    authorization: string | null;
    dpop: string | null;
    status: number;
    error?: string;
  }[] = [];
  const f: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const headers = new Headers(init?.headers);
    const body = res.status >= 400
      ? await res.clone().json().catch(() => ({}))
      : {};
    seen.push({
      path: new URL(String(input)).pathname.replace(
        /^\/functions\/v1\/session/,
        "",
      ),
      authorization: headers.get("authorization"),
      dpop: headers.get("dpop"),
      status: res.status,
      error: body.error,
    });
    return res;
  };
  return { fetch: f, seen };
}

async function familyOf(stack: Stack, id: string) {
  const [row] = await stack.sql<
    { dpop_jkt: string | null; generation: string; revoked_at: Date | null }[]
  >`
    select dpop_jkt, generation::text as generation, revoked_at from sessionguard.families where id = ${id}`;
  return row;
}

const stored = async (storage: StorageAdapter) =>
  JSON.parse((await storage.get("sessionguard.session"))!);

describe("SDK with dpop: true", () => {
  it("binds the session at start, signs every request, and deletes the key on sign-out", async () => {
    const storage = memoryStorage();
    const keys = memoryKeyStore();
    const recorder = recordingFetch();
    const sessions = client(optional, {
      storage,
      dpopKeyStore: keys,
      fetch: recorder.fetch,
    });
    const user = clerkId("user");
    const info = await sessions.start(
      await optional.clerk.token({ sub: user }),
    );

    const session = await stored(storage);
    expect(session.dpop_jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await familyOf(optional, info.session_id)).dpop_jkt).toBe(
      session.dpop_jkt,
    );
    expect(decodeJwt(session.access_token).cnf).toEqual({
      jkt: session.dpop_jkt,
    });
    expect(await keys.get(`sessionguard.session:${session.dpop_jkt}`)).not
      .toBeNull();

    await sessions.refresh();
    expect((await sessions.listSessions()).map((s) => s.id)).toEqual([
      info.session_id,
    ]);
    expect((await sessions.listEvents()).map((e) => e.type)).toContain(
      "session_started",
    );
    expect((await familyOf(optional, info.session_id)).generation).toBe("1");

    // Every request carried a proof; access-token routes used the DPoP scheme.
    expect(recorder.seen.every((r) => r.dpop !== null && r.status < 400)).toBe(
      true,
    );
    expect(
      recorder.seen.filter((r) =>
        r.path === "/sessions" || r.path === "/events"
      ).map((r) => r.authorization),
    )
      .toEqual([
        expect.stringMatching(/^DPoP /),
        expect.stringMatching(/^DPoP /),
      ]);

    await sessions.signOut();
    expect((await familyOf(optional, info.session_id)).revoked_at).not
      .toBeNull();
    expect(await keys.get(`sessionguard.session:${session.dpop_jkt}`))
      .toBeNull();
  });

  it("binds by default (no dpop option) and says so in deviceBinding", async () => {
    const storage = memoryStorage();
    const sessions = client(optional, { storage, dpop: undefined });
    expect(sessions.deviceBinding).toEqual({ bind: true });
    const info = await sessions.start(
      await optional.clerk.token({ sub: clerkId("user") }),
    );
    const session = await stored(storage);
    expect(session.dpop_jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await familyOf(optional, info.session_id)).dpop_jkt).toBe(
      session.dpop_jkt,
    );
    // The copied refresh token alone is refused, and revokes nothing.
    const copy = await fetch(`${optional.server.url}/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: session.refresh_token }),
    });
    expect(copy.status).toBe(401);
    await sessions.refresh();
    expect((await familyOf(optional, info.session_id)).revoked_at).toBeNull();
  });

  it("falls back to unbound where no key store fits, and says why", async () => {
    // A storage shared beyond this process, and no key store: a key in memory would be
    // lost on restart with the session, so the default goes unbound instead.
    const map = new Map<string, string>();
    const storage: StorageAdapter = {
      get: (k) => map.get(k) ?? null,
      set: (k, v) => void map.set(k, v),
      remove: (k) => void map.delete(k),
    };
    const sessions = client(optional, { storage, dpop: undefined });
    expect(sessions.deviceBinding).toEqual({
      bind: false,
      reason: "no_key_store",
    });
    const info = await sessions.start(
      await optional.clerk.token({ sub: clerkId("user") }),
    );
    expect((await stored(storage)).dpop_jkt).toBeUndefined();
    expect((await familyOf(optional, info.session_id)).dpop_jkt).toBeNull();
    await sessions.refresh();
  });

  it("falls back to unbound when the key store refuses the key at sign-in", async () => {
    const storage = memoryStorage();
    const broken: DpopKeyStore = {
      get: () => Promise.resolve(null),
      set: () => Promise.reject(new Error("QuotaExceededError")),
      remove: () => Promise.resolve(),
    };
    const sessions = client(optional, {
      storage,
      dpop: undefined,
      dpopKeyStore: broken,
    });
    expect(sessions.deviceBinding).toEqual({ bind: true });
    const info = await sessions.start(
      await optional.clerk.token({ sub: clerkId("user") }),
    );
    expect(sessions.deviceBinding).toEqual({
      bind: false,
      reason: "key_store_failed",
    });
    expect((await familyOf(optional, info.session_id)).dpop_jkt).toBeNull();
    await sessions.refresh();
  });

  it("a refresh token copied out of storage is useless without the key; the device carries on", async () => {
    const storage = memoryStorage();
    const sessions = client(optional, { storage });
    const user = clerkId("user");
    const info = await sessions.start(
      await optional.clerk.token({ sub: user }),
    );
    const copied = (await stored(storage)).refresh_token;

    const stolen = await optional.refresh(copied);
    expect(stolen.status).toBe(401);
    expect(stolen.body.error).toBe("invalid_dpop_proof");
    expect((await eventsOf(optional.sql, user)).map((e) => e.type)).toContain(
      "dpop_key_mismatch",
    );

    await sessions.refresh();
    expect(await familyOf(optional, info.session_id)).toMatchObject({
      generation: "1",
      revoked_at: null,
    });
  });

  it("two clients sharing storage race refreshes at grace 0 with one key, never signed out", async () => {
    const storage = memoryStorage();
    const a = client(strict, { storage });
    const b = client(strict, { storage });
    const signedOut: string[] = [];
    for (const c of [a, b]) c.on("signedOut", (e) => signedOut.push(e.reason));
    const info = await a.start(
      await strict.clerk.token({ sub: clerkId("user") }),
    );
    for (let round = 0; round < 10; round++) {
      await Promise.all([a.refresh(), b.refresh(), a.refresh()]);
    }
    expect(signedOut).toEqual([]);
    expect(Number((await familyOf(strict, info.session_id)).generation))
      .toBeGreaterThanOrEqual(10);
    expect((await familyOf(strict, info.session_id)).revoked_at).toBeNull();
  });

  it("answers the server's nonce challenge once, then sends its nonces unasked", async () => {
    const recorder = recordingFetch();
    const sessions = client(nonces, { fetch: recorder.fetch });
    await sessions.start(await nonces.clerk.token({ sub: clerkId("user") }));
    await sessions.refresh();
    await sessions.listSessions();
    expect(recorder.seen.map((r) => `${r.path} ${r.status}`)).toEqual([
      "/start 401",
      "/start 200",
      "/refresh 200",
      "/sessions 200",
    ]);
    expect(recorder.seen[0].error).toBe("use_dpop_nonce");
  });

  it("corrects for a device clock five minutes slow, from the server's Date header", async () => {
    const clerkToken = await optional.clerk.token({ sub: clerkId("user") }); // by the right clock
    const realNow = Date.now.bind(Date);
    const spy = vi.spyOn(Date, "now").mockImplementation(() =>
      realNow() - 300_000
    );
    try {
      const recorder = recordingFetch();
      const sessions = client(optional, { fetch: recorder.fetch });
      await sessions.start(clerkToken);
      await sessions.refresh();
      expect(recorder.seen.map((r) => `${r.path} ${r.status}`)).toEqual([
        "/start 401",
        "/start 200",
        "/refresh 200",
      ]);
    } finally {
      spy.mockRestore();
    }
  });

  it("a device that lost its key ends the session locally, without a mismatch event", async () => {
    const storage = memoryStorage();
    const first = client(optional, { storage, dpopKeyStore: memoryKeyStore() });
    const user = clerkId("user");
    await first.start(await optional.clerk.token({ sub: user }));
    first.close();
    // Same stored session, a key store that never saw the key (site data partly cleared, say).
    const second = client(optional, {
      storage,
      dpopKeyStore: memoryKeyStore(),
    });
    const ended: string[] = [];
    second.on("signedOut", (e) => ended.push(e.reason));
    await expect(second.refresh()).rejects.toMatchObject({
      code: "invalid_dpop_proof",
    });
    expect(ended).toEqual(["invalid_dpop_proof"]);
    expect(await second.getSession()).toBeNull();
    expect((await eventsOf(optional.sql, user)).map((e) => e.type)).not
      .toContain("dpop_key_mismatch");
  });

  it("keys in a file store survive a restart of the process (a new client on the same storage)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sg-dpop-"));
    try {
      const saved = new Map<string, string>();
      // A session storage that outlives the client, as a file or a database would.
      const durable: StorageAdapter = {
        get: (k) => saved.get(k) ?? null,
        set: (k, v) => void saved.set(k, v),
        remove: (k) => void saved.delete(k),
      };
      expect(() =>
        createSessionClient({
          url: optional.server.url,
          storage: durable,
          dpop: true,
        })
      ).toThrow(
        /dpopKeyStore/,
      );
      const before = client(optional, {
        storage: durable,
        dpopKeyStore: fileKeyStore(dir),
      });
      const info = await before.start(
        await optional.clerk.token({ sub: clerkId("user") }),
      );
      before.close();
      const [file] = await readdir(dir);
      expect((await stat(path.join(dir, file))).mode & 0o777).toBe(0o600);

      const after = client(optional, {
        storage: durable,
        dpopKeyStore: fileKeyStore(dir),
      });
      await after.refresh();
      expect((await familyOf(optional, info.session_id)).generation).toBe("1");
      await after.signOut();
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("against SESSION_DPOP=off nothing is bound, no key is kept, and refreshes need no proof", async () => {
    const storage = memoryStorage();
    const keys: DpopKeyStore & { names: string[] } = Object.assign(
      memoryKeyStore(),
      { names: [] as string[] },
    );
    const set = keys.set;
    keys.set = (name, pair) => (keys.names.push(name), set(name, pair));
    const sessions = client(off, { storage, dpopKeyStore: keys });
    await sessions.start(await off.clerk.token({ sub: clerkId("user") }));
    expect((await stored(storage)).dpop_jkt).toBeUndefined();
    // The key was stored before /start (so a bound session never names a missing key),
    // and deleted once the answer showed the server did not bind.
    expect(keys.names).toHaveLength(1);
    expect(await keys.get(keys.names[0])).toBeNull();
    expect((await off.refresh((await stored(storage)).refresh_token)).status)
      .toBe(200);
  });

  it("with dpop off the SDK sends no proofs and the session is unbound", async () => {
    const recorder = recordingFetch();
    const sessions = client(optional, { fetch: recorder.fetch, dpop: false });
    const info = await sessions.start(
      await optional.clerk.token({ sub: clerkId("user") }),
    );
    await sessions.refresh();
    expect(recorder.seen.map((r) => r.dpop)).toEqual([null, null]);
    expect((await familyOf(optional, info.session_id)).dpop_jkt).toBeNull();
  });
});
