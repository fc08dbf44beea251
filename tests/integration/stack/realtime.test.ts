/**
 * The local Realtime stand-in under `npm start` (dev/realtime-standin.ts at
 * `/realtime/v1/websocket`, the realtime schema from sql/realtime_standin.sql and the
 * example session-events policy): an app's SDK with supabase-js joins its user's
 * sessionguard topic through the stack's own origin, and a revocation from another device
 * closes its channels and signs it out with no request of its own. The real start script,
 * embedded Postgres, the Deno gateway, supabase-js over `ws`.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { LOCAL_PUBLISHABLE_KEY } from "../../../dev/data-api/handler.ts";
import {
  createSessionClient,
  listenForRevocation,
  memoryStorage,
  type SessionClient,
  type SignedOutReason,
} from "../../../packages/client/src/index.ts";
import { call } from "../../support/api.ts";
import { killLeftovers, launch, type Launched, removeStackData } from "../../support/npm-start.ts";

let stack: Launched;
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  stack = await launch();
  await stack.ready;
}, 240_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await stack?.stop();
  killLeftovers();
  if (stack) await removeStackData(stack.name);
});

interface Device {
  readonly sessions: SessionClient;
  readonly supabase: SupabaseClient;
  readonly signedOut: SignedOutReason[];
  readonly errors: Error[];
}

function device(): Device {
  const sessions = createSessionClient({
    url: `${stack.origin}/functions/v1/session`,
    storage: memoryStorage(),
    autoRefresh: false,
  });
  const supabase = createClient(stack.origin, LOCAL_PUBLISHABLE_KEY, {
    accessToken: () => sessions.getAccessToken(),
    realtime: { transport: WebSocket as never },
  });
  const d: Device = { sessions, supabase, signedOut: [], errors: [] };
  sessions.on("signedOut", ({ reason }) => d.signedOut.push(reason));
  const stop = listenForRevocation(sessions, supabase, { onError: (error) => d.errors.push(error) });
  cleanups.push(async () => {
    stop();
    await supabase.removeAllChannels();
    sessions.close();
  });
  return d;
}

async function clerkToken(user: string): Promise<string> {
  return (await call(stack.origin, `/dev/clerk-token?user=${user}`)).body.token as string;
}

function joined(d: Device, topic: string): boolean {
  return d.supabase.getChannels().some((c) => c.topic === `realtime:${topic}` && c.state === "joined");
}

describe("npm start's Realtime stand-in", () => {
  it("says so in the banner", () => {
    expect(stack.output()).toMatch(/Realtime\s+ws:\/\/127\.0\.0\.1:\d+\/realtime\/v1\s+\(LOCAL REALTIME STAND-IN/);
  });

  it("a revocation from another device closes the app's channels and signs it out, with no request from it", async () => {
    const name = `realtime${Math.random().toString(36).slice(2, 10)}`;
    const laptop = device();
    const phone = device();
    const { session_id: laptopSid, user_id: user } = await laptop.sessions.start(await clerkToken(name));
    await phone.sessions.start(await clerkToken(name));
    await vi.waitFor(() => expect(joined(laptop, `sessionguard:${user}`)).toBe(true), { timeout: 15_000 });
    await vi.waitFor(() => expect(joined(phone, `sessionguard:${user}`)).toBe(true), { timeout: 15_000 });

    await phone.sessions.revokeSession(laptopSid);

    await vi.waitFor(() => expect(laptop.signedOut).toEqual(["session_revoked"]), { timeout: 10_000 });
    await vi.waitFor(() => expect(laptop.supabase.getChannels()).toEqual([]), { timeout: 10_000 });
    expect(await laptop.sessions.getSession()).toBeNull();
    // The phone heard the same announcement and stays signed in, still listening.
    expect(phone.signedOut).toEqual([]);
    expect(joined(phone, `sessionguard:${user}`)).toBe(true);
    expect([...laptop.errors, ...phone.errors]).toEqual([]);
  });

  it("another user's session cannot join this user's topic", async () => {
    const name = `realtime${Math.random().toString(36).slice(2, 10)}`;
    const owner = device();
    const { user_id: ownerId } = await owner.sessions.start(await clerkToken(name));
    const intruder = device();
    await intruder.sessions.start(await clerkToken(`other${name}`));
    // As listenForRevocation does: the join then carries the session's access token.
    await intruder.supabase.realtime.setAuth();
    const refused = await new Promise<string>((resolve) => {
      intruder.supabase.channel(`sessionguard:${ownerId}`, { config: { private: true } }).subscribe((status, error) => {
        if (status !== "SUBSCRIBED") resolve(`${status} ${error?.message ?? ""}`);
        else resolve("SUBSCRIBED");
      });
    });
    expect(refused).toMatch(/^CHANNEL_ERROR .*Unauthorized/);
  });
});
