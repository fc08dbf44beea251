/**
 * Sign-in and sign-out write storage under the cross-tab lock (session-state.ts
 * `locked`): a refresh that another tab (here: another client on the same storage and
 * lock) has in flight lands before the write, never after it. Without the lock its
 * answer, stored after the sign-out, would bring the signed-out session back; stored
 * after a new sign-in, it would put back the session that sign-in replaced.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  createSessionClient,
  memoryStorage,
  type SessionClient,
} from "../../../packages/client/src/index.ts";
import { FakeSessionServer } from "../../support/sdk/fake-server.ts";

const URL_BASE = "http://127.0.0.1:54321/functions/v1/session";
const clients: SessionClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

/** Two clients on one storage and lock; tab A's /refresh is held until `release()`. */
function twoTabs() {
  const server = new FakeSessionServer();
  const storage = memoryStorage();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let arrived!: () => void;
  const refreshArrived = new Promise<void>((resolve) => (arrived = resolve));
  const make = (hold: boolean) => {
    const client = createSessionClient({
      url: URL_BASE,
      storage,
      storageKey: "lock-writes",
      autoRefresh: false,
      fetch: async (input, init) => {
        const answer = await server.fetch(input, init);
        if (hold && String(input).endsWith("/refresh")) {
          // The server has rotated; the answer is on its way back to tab A.
          arrived();
          await held;
        }
        return answer;
      },
    });
    clients.push(client);
    return client;
  };
  return { server, storage, a: make(true), b: make(false), release, refreshArrived };
}

describe("start() and end() write storage under the cross-tab lock", () => {
  it("a refresh finishing in another tab cannot undo a sign-out", async () => {
    const { storage, a, b, release, refreshArrived } = twoTabs();
    await a.start("clerk:user_1");
    expect(await b.getSession()).not.toBeNull();
    const refreshing = a.refresh();
    await refreshArrived;
    const signingOut = b.signOut();
    // Give the sign-out every chance to finish while tab A's answer is still held.
    await new Promise((r) => setTimeout(r, 50));
    release();
    await refreshing;
    await signingOut;
    expect(await storage.get("lock-writes")).toBeNull();
    expect(await b.getSession()).toBeNull();
    expect(await a.getSession()).toBeNull();
  });

  it("a refresh of the old session finishing in another tab cannot replace a new sign-in", async () => {
    const { storage, a, b, release, refreshArrived } = twoTabs();
    const old = await a.start("clerk:user_1");
    const refreshing = a.refresh();
    await refreshArrived;
    const signingIn = b.start("clerk:user_2");
    await new Promise((r) => setTimeout(r, 50));
    release();
    await refreshing;
    const fresh = await signingIn;
    expect(fresh.session_id).not.toBe(old.session_id);
    const stored = JSON.parse((await storage.get("lock-writes"))!);
    expect(stored.session_id).toBe(fresh.session_id);
    expect((await b.getSession())?.session_id).toBe(fresh.session_id);
  });
});
