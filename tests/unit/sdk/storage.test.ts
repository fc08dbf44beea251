/** Storage adapters of the SDK: memory, Web Storage-shaped stores (sync and async), defaults. */
import { afterEach, describe, expect, it } from "vitest";
import {
  createSessionClient,
  defaultStorage,
  keyValueStorage,
  type KeyValueStore,
  memoryStorage,
  type SessionClient,
} from "../../../packages/client/src/index.ts";
import { FakeSessionServer } from "../../support/sdk/fake-server.ts";

const URL_BASE = "http://127.0.0.1:54321/functions/v1/session";
const clients: SessionClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  delete (globalThis as Record<string, unknown>).document;
  delete (globalThis as Record<string, unknown>).localStorage;
});

/** A Web Storage-shaped store, optionally async like React Native's AsyncStorage. */
function fakeWebStorage(
  async: boolean,
): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  const wrap = <T>(v: T) => (async ? Promise.resolve(v) : v);
  return {
    data,
    getItem: (k) => wrap(data.get(k) ?? null) as string | null,
    setItem: (k, v) => wrap(void data.set(k, v)) as void,
    removeItem: (k) => wrap(void data.delete(k)) as void,
  };
}

describe("memoryStorage", () => {
  it("gets, sets and removes, seeded from initial values", async () => {
    const s = memoryStorage({ a: "1" });
    expect(await s.get("a")).toBe("1");
    await s.set("b", "2");
    expect(await s.get("b")).toBe("2");
    await s.remove("a");
    expect(await s.get("a")).toBeNull();
  });
});

describe.each([false, true])("keyValueStorage (async: %s)", (async) => {
  it("keeps the session across client instances (a page reload)", async () => {
    const server = new FakeSessionServer();
    const store = fakeWebStorage(async);
    const first = createSessionClient({
      url: URL_BASE,
      fetch: server.fetch,
      storage: keyValueStorage(store),
    });
    clients.push(first);
    await first.start("clerk:user_1");
    expect([...store.data.keys()]).toEqual(["sessionguard.session"]);
    const stored = JSON.parse(store.data.get("sessionguard.session")!);
    expect(stored).toMatchObject({
      refresh_token: "fam-1.0",
      session_id: "fam-1",
      user_id: "user_1",
    });

    const reloaded = createSessionClient({
      url: URL_BASE,
      fetch: server.fetch,
      storage: keyValueStorage(store),
    });
    clients.push(reloaded);
    expect(await reloaded.getSession()).toMatchObject({
      session_id: "fam-1",
      user_id: "user_1",
    });
    await reloaded.signOut();
    expect(store.data.size).toBe(0);
  });
});

describe("stored values", () => {
  it("treats a corrupt or foreign value as signed out", async () => {
    for (
      const value of ["not json", "{}", '{"v":1,"access_token":"x"}', "null"]
    ) {
      const client = createSessionClient({
        url: URL_BASE,
        fetch: new FakeSessionServer().fetch,
        storage: memoryStorage({ "sessionguard.session": value }),
      });
      clients.push(client);
      expect(await client.getAccessToken()).toBeNull();
    }
  });

  it("uses the storage key it is given", async () => {
    const storage = memoryStorage();
    const client = createSessionClient({
      url: URL_BASE,
      fetch: new FakeSessionServer().fetch,
      storage,
      storageKey: "app.auth",
    });
    clients.push(client);
    await client.start("clerk:user_1");
    expect(await storage.get("app.auth")).toContain("fam-1.0");
    expect(await storage.get("sessionguard.session")).toBeNull();
  });
});

describe("defaultStorage", () => {
  it("is memory in Node", async () => {
    const s = defaultStorage();
    await s.set("k", "v");
    expect(await s.get("k")).toBe("v");
    expect(await defaultStorage().get("k")).toBeNull();
  });

  it("is localStorage in a browser-like runtime", async () => {
    const ls = fakeWebStorage(false);
    Object.assign(globalThis, { document: {}, localStorage: ls });
    await defaultStorage().set("k", "v");
    expect(ls.data.get("k")).toBe("v");
  });

  it("falls back to memory when localStorage throws (blocked storage)", async () => {
    const blocked = {
      getItem: () => null,
      setItem: () => {
        throw new Error("SecurityError");
      },
      removeItem: () => undefined,
    };
    Object.assign(globalThis, { document: {}, localStorage: blocked });
    const s = defaultStorage();
    await s.set("k", "v");
    expect(await s.get("k")).toBe("v");
  });
});

describe("isolation", () => {
  it("clients with separate memory storages never share a session, even under the same key", async () => {
    const server = new FakeSessionServer();
    const alice = createSessionClient({
      url: URL_BASE,
      fetch: server.fetch,
      storage: memoryStorage(),
    });
    const bob = createSessionClient({
      url: URL_BASE,
      fetch: server.fetch,
      storage: memoryStorage(),
    });
    clients.push(alice, bob);
    await alice.start("clerk:alice");
    await bob.start("clerk:bob");
    await new Promise((r) => setTimeout(r, 0));
    expect((await alice.getSession())?.user_id).toBe("alice");
    expect((await bob.getSession())?.user_id).toBe("bob");
    await alice.signOut();
    await new Promise((r) => setTimeout(r, 0));
    expect((await bob.getSession())?.user_id).toBe("bob");
  });
});
