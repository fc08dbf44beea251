/**
 * `listenForRevocation`'s own logic, with the SDK on the in-process session stand-in and a
 * recording stand-in for supabase-js's channel API (the end-to-end run, with real
 * supabase-js, Realtime's protocol and Postgres, is
 * tests/integration/platform/revocation-channel.test.ts). Also: the events it treats as
 * the end of a session are exactly the reasons the SQL ends one for.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createSessionClient,
  endingReason,
  listenForRevocation,
  memoryStorage,
  type RevocationChannel,
  type RevocationSupabase,
  type SessionClient,
} from "../../../packages/client/src/index.ts";
import { FakeSessionServer } from "../../support/sdk/fake-server.ts";

const MIGRATIONS = path.resolve(import.meta.dirname, "../../../supabase/migrations");
const clients: SessionClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

/** The last `<check> in ('a', 'b', ...)` list written in the migrations. */
function lastList(pattern: RegExp): string[] {
  const sql = readdirSync(MIGRATIONS).sort().map((f) => readFileSync(path.join(MIGRATIONS, f), "utf8")).join("\n");
  const lists = [...sql.matchAll(pattern)].map((m) => [...m[1]!.matchAll(/'([a-z_]+)'/g)].map((q) => q[1]!));
  expect(lists.length).toBeGreaterThan(0);
  return lists.at(-1)!;
}

/** supabase-js's channel calls, recorded; deliver() plays a broadcast to a channel's listeners. */
class RecordingSupabase implements RevocationSupabase {
  readonly log: string[] = [];
  readonly open = new Map<string, RecordingChannel>();
  readonly realtime = {
    setAuth: async () => {
      this.log.push(`setAuth ${(await this.token()) ? "token" : "null"}`);
    },
  };
  constructor(private readonly token: () => Promise<string | null>) {}
  channel(name: string, options: { config: { private: boolean } }): RevocationChannel {
    this.log.push(`join ${name}${options.config.private ? " (private)" : ""}`);
    const channel = new RecordingChannel(name);
    this.open.set(name, channel);
    return channel;
  }
  removeChannel(channel: RevocationChannel): Promise<unknown> {
    const name = (channel as RecordingChannel).name;
    this.log.push(`leave ${name}`);
    this.open.delete(name);
    return Promise.resolve("ok");
  }
  removeAllChannels(): Promise<unknown> {
    this.log.push("leave all");
    this.open.clear();
    return Promise.resolve([]);
  }
}

class RecordingChannel implements RevocationChannel {
  listeners: ((message: { event: string; payload?: unknown }) => void)[] = [];
  status: ((status: string, error?: Error) => void) | undefined;
  constructor(readonly name: string) {}
  on(_type: "broadcast", _filter: { event: string }, callback: (m: { event: string; payload?: unknown }) => void) {
    this.listeners.push(callback);
    return this;
  }
  subscribe(callback?: (status: string, error?: Error) => void) {
    this.status = callback;
    return this;
  }
  deliver(event: string, payload: unknown) {
    for (const listener of this.listeners) listener({ event, payload });
  }
}

function setup() {
  const server = new FakeSessionServer();
  const storage = memoryStorage();
  const sessions = createSessionClient({
    url: "http://127.0.0.1:54321/functions/v1/session",
    fetch: server.fetch,
    storage,
    autoRefresh: false,
    dpop: false,
  });
  clients.push(sessions);
  const supabase = new RecordingSupabase(() => sessions.getAccessToken());
  const signedOut: string[] = [];
  sessions.on("signedOut", ({ reason }) => signedOut.push(reason));
  return { sessions, storage, supabase, signedOut, server };
}

describe("which announcements end a session", () => {
  it("every reason the SQL revokes a family for, and nothing else of the event types", () => {
    const reasons = lastList(/revoked_reason in \(([^)]*)\)/g);
    const types = lastList(/events_type_check check \(type in \(([^)]*)\)\)/g);
    expect(reasons.length).toBeGreaterThanOrEqual(6);
    for (const reason of reasons) expect(endingReason(reason), reason).not.toBeNull();
    for (const type of types.filter((t) => !reasons.includes(t))) expect(endingReason(type), type).toBeNull();
    expect(endingReason("refresh_token_reused")).toBe("refresh_token_reused");
    expect(endingReason("clerk_session_ended")).toBe("session_revoked");
    expect(endingReason("toString")).toBeNull();
  });
});

describe("listenForRevocation", () => {
  it("joins the user's topic after setAuth, follows a change of user, and stop() leaves only its own channel", async () => {
    const { sessions, supabase } = setup();
    const stop = listenForRevocation(sessions, supabase, { onError: (e) => expect.fail(e.message) });
    await sessions.start("clerk:user_a");
    await vi.waitFor(() => expect(supabase.open.has("sessionguard:user_a")).toBe(true));
    supabase.channel("app", { config: { private: true } });
    await sessions.start("clerk:user_b");
    await vi.waitFor(() => expect(supabase.open.has("sessionguard:user_b")).toBe(true));
    expect(supabase.open.has("sessionguard:user_a")).toBe(false);
    stop();
    await vi.waitFor(() => expect([...supabase.open.keys()]).toEqual(["app"]));
    expect(supabase.log).toEqual([
      "setAuth token",
      "join sessionguard:user_a (private)",
      "join app (private)",
      "leave sessionguard:user_a",
      "setAuth token",
      "join sessionguard:user_b (private)",
      "leave sessionguard:user_b",
    ]);
  });

  it("signs out on its own session's end only, leaving every channel", async () => {
    const { sessions, storage, supabase, signedOut } = setup();
    listenForRevocation(sessions, supabase);
    const { session_id } = await sessions.start("clerk:user_c");
    await vi.waitFor(() => expect(supabase.open.has("sessionguard:user_c")).toBe(true));
    const topic = supabase.open.get("sessionguard:user_c")!;
    topic.deliver("session_revoked", { session_id: "another-session" });
    topic.deliver("session_started", { session_id });
    topic.deliver("dpop_key_mismatch", { session_id });
    topic.deliver("session_revoked", null);
    expect(await sessions.getSession()).not.toBeNull();
    expect(signedOut).toEqual([]);

    topic.deliver("user_deleted", { session_id });
    await vi.waitFor(() => expect(signedOut).toEqual(["session_revoked"]));
    expect(supabase.open.size).toBe(0);
    expect(supabase.log).toContain("leave all");
    expect(await storage.get("sessionguard.session")).toBeNull();
  });

  it("tells onAnnouncement of every announcement, its own end after signing out", async () => {
    const { sessions, supabase, signedOut } = setup();
    const heard: { type: string; sessionId: string | null; signedOut: number }[] = [];
    listenForRevocation(sessions, supabase, {
      onAnnouncement: (a) => heard.push({ ...a, signedOut: signedOut.length }),
    });
    const { session_id } = await sessions.start("clerk:user_e");
    await vi.waitFor(() => expect(supabase.open.has("sessionguard:user_e")).toBe(true));
    const topic = supabase.open.get("sessionguard:user_e")!;
    topic.deliver("session_started", { session_id: "phone" });
    topic.deliver("signed_out", { session_id: "tablet" });
    topic.deliver("session_claims_changed", null);
    expect(heard).toEqual([
      { type: "session_started", sessionId: "phone", signedOut: 0 },
      { type: "signed_out", sessionId: "tablet", signedOut: 0 },
      { type: "session_claims_changed", sessionId: null, signedOut: 0 },
    ]);

    topic.deliver("session_revoked", { session_id });
    await vi.waitFor(() => expect(heard).toHaveLength(4));
    expect(heard[3]).toEqual({ type: "session_revoked", sessionId: session_id, signedOut: 1 });
    expect(signedOut).toEqual(["session_revoked"]);
  });

  it("a refused join is reported once, not retried, and asks the server once whether the session lives", async () => {
    const { sessions, supabase, server } = setup();
    const errors: string[] = [];
    listenForRevocation(sessions, supabase, { onError: (e) => errors.push(e.message) });
    await sessions.start("clerk:user_d");
    await vi.waitFor(() => expect(supabase.open.has("sessionguard:user_d")).toBe(true));
    supabase.open.get("sessionguard:user_d")!.status!(
      "CHANNEL_ERROR",
      new Error("Unauthorized: You do not have permissions to read from this Channel topic: sessionguard:user_d"),
    );
    expect(errors).toEqual([expect.stringContaining("cannot listen on sessionguard:user_d: Unauthorized")]);
    await vi.waitFor(() => expect(supabase.open.size).toBe(0));
    // Alive after all (the policy is what is missing): one refresh, and it stays signed in.
    await vi.waitFor(() => expect(server.calls.filter((c) => c.path.endsWith("/refresh"))).toHaveLength(1));
    expect(await sessions.getSession()).not.toBeNull();
  });
});
