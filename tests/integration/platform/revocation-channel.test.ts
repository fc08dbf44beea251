/**
 * `listenForRevocation`: when the server ends a session, that session's app leaves every
 * Realtime channel and signs out, however the session ended; other sessions of the user
 * are left alone; a revoked session cannot join the user's topic again.
 *
 * Everything is real except Realtime itself, which cannot run here: the session function
 * (Deno) on a throwaway PostgreSQL with sessionguard's migrations, the realtime.messages
 * stand-in (supabase/tests/stand-ins/realtime.psql) and the example channel policies
 * (examples/surfaces); the SDK and supabase-js in this process (with `ws` as Realtime's
 * transport, as supabase-js asks on Node 20); and the Realtime protocol and authorization
 * stand-in bench/servers/realtime-standin.ts, which cites the rules it copies, checks the
 * policies on each join and delivers what `realtime.send` writes. Nothing here is timed.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import {
  createSessionClient,
  listenForRevocation,
  memoryStorage,
  type SessionClient,
  type SignedOutReason,
  type StorageAdapter,
} from "../../../packages/client/src/index.ts";
import { clerkId, type ClerkIssuer, startClerkIssuer } from "../../../scripts/lib/clerk-issuer.ts";
import { type Database, repoRoot, startDatabase } from "../../../scripts/lib/local-postgres.ts";
import { DENO, type Launched, startUntil } from "../../../scripts/lib/process.ts";
import { type SessionServer, startSessionServer } from "../../../scripts/lib/session-server.ts";
import { refreshSecret, signingJwk } from "../../../scripts/lib/throwaway-keys.ts";

const ANON_KEY = "anon-key-standin";
const STORAGE_KEY = "sessionguard.session";
let db: Database;
let issuer: ClerkIssuer;
let server: SessionServer;
let standin: Launched;
let realtimeUrl: string;
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  db = await startDatabase({ ephemeral: true, name: "revocation-channel" });
  await psql(db.url, "supabase/tests/stand-ins/realtime.psql");
  for (const example of ["20261207120100_private_user_channel.sql", "20261207120200_session_events_channel.sql"]) {
    await psql(db.url, `examples/surfaces/supabase/migrations/${example}`);
  }
  issuer = await startClerkIssuer();
  server = await startSessionServer({
    CLERK_ISSUER: issuer.issuer,
    CLERK_JWKS_URL: issuer.jwksUrl,
    CLERK_AUTHORIZED_PARTIES: "http://localhost:3000",
    SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
    SESSION_REFRESH_SECRET: refreshSecret(),
    DATABASE_URL: db.url,
    SESSION_RATE_LIMITS: "off",
    // Any repeat of a spent refresh token is theft.
    SESSION_REUSE_GRACE: "0",
    SESSION_ISSUER: "http://127.0.0.1:54321/functions/v1/session",
  });
  const started = await startUntil("realtime stand-in", {
    command: DENO,
    args: ["run", "--quiet", "--allow-net", "--allow-env", "--allow-read", "bench/servers/realtime-standin.ts"],
    env: { DATABASE_URL: db.url, REALTIME_JWKS_URL: `${server.url}/.well-known/jwks.json` },
    // It serves until this pipe closes.
    stdin: true,
    ready: /"origin":"(http:\/\/[\d.:]+)"/,
  });
  standin = started;
  realtimeUrl = started.ready[1]!;
}, 240_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await standin?.stop();
  await server?.stop();
  await issuer?.stop();
  await db?.stop();
}, 60_000);

/** An app on one device: the SDK, supabase-js on it, and the revocation listener. */
interface Device {
  readonly sessions: SessionClient;
  readonly storage: StorageAdapter;
  readonly supabase: SupabaseClient;
  /** Every `signedOut` reason, in order. */
  readonly signedOut: SignedOutReason[];
  readonly theft: string[];
  readonly errors: Error[];
}

function device(storage: StorageAdapter = memoryStorage()): Device {
  const sessions = createSessionClient({ url: server.url, storage, autoRefresh: false, dpop: false });
  const supabase = createClient(realtimeUrl, ANON_KEY, {
    accessToken: () => sessions.getAccessToken(),
    realtime: { transport: WebSocket as never },
  });
  const d: Device = { sessions, storage, supabase, signedOut: [], theft: [], errors: [] };
  sessions.on("signedOut", ({ reason }) => d.signedOut.push(reason));
  sessions.on("theftDetected", ({ error }) => d.theft.push(error.code));
  const stop = listenForRevocation(sessions, supabase, { onError: (error) => d.errors.push(error) });
  cleanups.push(async () => {
    stop();
    await supabase.removeAllChannels();
    sessions.close();
  });
  return d;
}

async function signIn(d: Device, user: string): Promise<string> {
  const { session_id } = await d.sessions.start(await issuer.token({ sub: user }));
  // The SDK joins the user's topic once it hears of the sign-in.
  await vi.waitFor(() => expect(joined(d, `sessionguard:${user}`)).toBe(true), { timeout: 10_000 });
  return session_id;
}

function joined(d: Device, topic: string): boolean {
  return d.supabase.getChannels().some((c) => c.topic === `realtime:${topic}` && c.state === "joined");
}

/** The app's own private channel. */
function joinAppChannel(d: Device, topic: string): Promise<void> {
  return new Promise((resolve, reject) => {
    d.supabase.channel(topic, { config: { private: true } }).subscribe((status, error) => {
      if (status === "SUBSCRIBED") resolve();
      else if (status !== "CLOSED") reject(new Error(`${topic}: ${status} ${error?.message ?? ""}`));
    });
  });
}

/** The topics the stand-in has joined right now, one entry per channel. */
async function joinedOnServer(): Promise<string[]> {
  return await (await fetch(`${realtimeUrl}/standin/joined`)).json() as string[];
}

/** Each announcement `d` receives on the user's topic, after the SDK's own listener has seen it. */
function announcements(d: Device, user: string): { event: string; session_id: unknown }[] {
  const seen: { event: string; session_id: unknown }[] = [];
  // The SDK's channel (one per topic): this binding runs after the SDK's, message by message.
  d.supabase.channel(`sessionguard:${user}`).on("broadcast", { event: "*" }, ({ event, payload }) => {
    seen.push({ event, session_id: (payload as { session_id?: unknown }).session_id });
  });
  return seen;
}

describe("listenForRevocation, end to end", () => {
  it("a session revoked from another device leaves every channel and signs out, in every tab", async () => {
    const user = clerkId("user");
    const laptop = device();
    const laptopTab = createSessionClient({ url: server.url, storage: laptop.storage, autoRefresh: false, dpop: false });
    cleanups.push(() => laptopTab.close());
    const otherTab: { reason: SignedOutReason; source: string }[] = [];
    laptopTab.on("signedOut", (e) => otherTab.push(e));
    const sid = await signIn(laptop, user);
    expect((await laptopTab.getSession())?.session_id).toBe(sid);
    await joinAppChannel(laptop, `user:${user}`);
    const phone = device();
    await signIn(phone, user);
    expect((await joinedOnServer()).filter((t) => t.endsWith(user)).sort()).toEqual(
      [`sessionguard:${user}`, `sessionguard:${user}`, `user:${user}`],
    );

    await phone.sessions.revokeSession(sid);

    await vi.waitFor(() => expect(laptop.signedOut).toEqual(["session_revoked"]), { timeout: 10_000 });
    await vi.waitFor(() => expect(laptop.supabase.getChannels()).toEqual([]), { timeout: 10_000 });
    // Left on the server too, not only forgotten here; the phone still listens.
    expect((await joinedOnServer()).filter((t) => t.endsWith(user))).toEqual([`sessionguard:${user}`]);
    expect(await laptop.sessions.getSession()).toBeNull();
    expect(await laptop.storage.get(STORAGE_KEY)).toBeNull();
    await vi.waitFor(() => expect(otherTab).toEqual([{ reason: "session_revoked", source: "other-tab" }]));
    expect(phone.signedOut).toEqual([]);
    expect(joined(phone, `sessionguard:${user}`)).toBe(true);
    expect(laptop.errors).toEqual([]);
  });

  it("another session of the user ending (signed out, revoked) leaves this one signed in and listening", async () => {
    const user = clerkId("user");
    const laptop = device();
    const sid = await signIn(laptop, user);
    await joinAppChannel(laptop, `user:${user}`);
    const seen = announcements(laptop, user);
    const phone = device();
    const phoneSid = await signIn(phone, user);
    const tablet = device();
    const tabletSid = await signIn(tablet, user);

    await phone.sessions.signOut();
    await laptop.sessions.revokeSession(tabletSid);

    // Both announcements reached the laptop (so its listener has judged them) ...
    await vi.waitFor(() =>
      expect(seen).toEqual(expect.arrayContaining([
        { event: "signed_out", session_id: phoneSid },
        { event: "session_revoked", session_id: tabletSid },
      ])), { timeout: 10_000 });
    // ... and left it alone.
    expect(laptop.signedOut).toEqual([]);
    expect((await laptop.sessions.getSession())?.session_id).toBe(sid);
    expect(joined(laptop, `sessionguard:${user}`) && joined(laptop, `user:${user}`)).toBe(true);
    // The devices whose sessions ended did sign out, once each, with their own reason.
    await vi.waitFor(() => expect(tablet.signedOut).toEqual(["session_revoked"]), { timeout: 10_000 });
    await vi.waitFor(() => expect(tablet.supabase.getChannels()).toEqual([]), { timeout: 10_000 });
    expect(phone.signedOut).toEqual(["signed_out"]);
    await vi.waitFor(() => expect(phone.supabase.getChannels()).toEqual([]), { timeout: 10_000 });
  });

  it("theft (a spent refresh token presented again) closes the device's channels and reports theft", async () => {
    const user = clerkId("user");
    const laptop = device();
    await signIn(laptop, user);
    await joinAppChannel(laptop, `user:${user}`);
    // A copy of the stored session, refresh token included, taken before the laptop rotates.
    const stolen = memoryStorage();
    await stolen.set(STORAGE_KEY, (await laptop.storage.get(STORAGE_KEY))!);
    await laptop.sessions.refresh();
    const thief = createSessionClient({ url: server.url, storage: stolen, autoRefresh: false, dpop: false });
    cleanups.push(() => thief.close());

    await expect(thief.refresh()).rejects.toMatchObject({ code: "refresh_token_reused" });

    await vi.waitFor(() => expect(laptop.signedOut).toEqual(["refresh_token_reused"]), { timeout: 10_000 });
    expect(laptop.theft).toEqual(["refresh_token_reused"]);
    await vi.waitFor(() => expect(laptop.supabase.getChannels()).toEqual([]), { timeout: 10_000 });
    expect(await laptop.storage.get(STORAGE_KEY)).toBeNull();
  });

  it("a revoked session cannot join the user's topic again", async () => {
    const user = clerkId("user");
    const laptop = device();
    const sid = await signIn(laptop, user);
    // The device was offline when its session was revoked: it still holds the session.
    const offline = memoryStorage();
    await offline.set(STORAGE_KEY, (await laptop.storage.get(STORAGE_KEY))!);
    const deadToken = (await laptop.sessions.getAccessToken())!;
    const phone = device();
    await signIn(phone, user);
    await phone.sessions.revokeSession(sid);
    await vi.waitFor(() => expect(laptop.signedOut).toEqual(["session_revoked"]), { timeout: 10_000 });

    // supabase-js with the revoked session's token, still unexpired: refused at join.
    const raw = createClient(realtimeUrl, ANON_KEY, {
      accessToken: async () => deadToken,
      realtime: { transport: WebSocket as never },
    });
    cleanups.push(() => raw.removeAllChannels());
    await raw.realtime.setAuth();
    const refusal = await new Promise<string>((resolve) => {
      raw.channel(`sessionguard:${user}`, { config: { private: true } }).subscribe((status, error) => {
        if (status !== "SUBSCRIBED") resolve(`${status} ${error?.message}`);
        else resolve("SUBSCRIBED");
      });
    });
    expect(refusal).toMatch(/^CHANNEL_ERROR .*Unauthorized/);

    // The SDK on the device that missed the announcement: refused, it asks the server once
    // (a refresh, refused too) and signs out.
    const returning = device(offline);
    await vi.waitFor(() => expect(returning.signedOut).toEqual(["session_revoked"]), { timeout: 10_000 });
    expect(returning.errors.map((e) => e.message)).toEqual([expect.stringMatching(/Unauthorized/)]);
    expect(await offline.get(STORAGE_KEY)).toBeNull();
    await vi.waitFor(() => expect(returning.supabase.getChannels()).toEqual([]), { timeout: 10_000 });
    expect((await joinedOnServer()).filter((t) => t.endsWith(user))).toEqual([`sessionguard:${user}`]);
  });
});

function psql(url: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("psql", [url, "-qX", "-v", "ON_ERROR_STOP=1", "-f", path.join(repoRoot, file)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (chunk) => (err += chunk));
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`psql ${file}: ${err}`))));
  });
}
