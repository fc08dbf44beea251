/**
 * `useSessionSync(identity)`: keeps a sessionguard session in step with whoever proves
 * the user's identity (Clerk, through `@sessionguard/react/clerk`, or anything shaped
 * like it):
 *
 * - signed in there → one sessionguard session per identity session, started with its
 *   session token. Never twice: concurrent calls in a page share one start (React strict
 *   mode runs effects twice), and across tabs the start runs under a Web Lock and first
 *   re-reads the stored session, which another tab may have just written;
 * - signed out there → signed out here;
 * - the sessionguard session ends (signed out, revoked from another device, expired,
 *   theft) → signed out there too, and that identity session never starts another one:
 *   a revoked device stays signed out until the user signs in again;
 * - the active organization changes there, or the user re-verifies → the session's
 *   claims are updated with a fresh token (`client.updateClaims`, POST /claims), so RLS
 *   policies see the new organization on the next query without a new sign-in.
 */
import { useEffect, useRef, useState } from "react";
import type { SessionClient } from "@sessionguard/client";
import { useSessionGuardContext } from "./provider.tsx";

/** The identity provider's state, as Clerk's `useAuth()` returns it. */
export interface IdentityState {
  /** False until the provider knows whether someone is signed in. */
  isLoaded: boolean;
  isSignedIn: boolean | undefined;
  userId: string | null | undefined;
  /** The provider's session id (Clerk's `sid`): one sessionguard session per value. */
  sessionId: string | null | undefined;
  /** A fresh session token (a JWT the session function verifies). */
  getToken(): Promise<string | null>;
  /** Ends the provider's session. */
  signOut(): Promise<unknown>;
  /** The active organization (Clerk's `orgId`); undefined when the provider has none to tell. */
  orgId?: string | null;
  /** When a factor was last verified, in seconds (from Clerk's `fva`); undefined when unknown. */
  verifiedAt?: number | null;
}

export interface SessionSyncOptions {
  /** Shown in the device list; default: the browser and OS. */
  deviceName?: string;
  /** Name of the cross-tab lock and of the record of started sessions. Default `sessionguard`. */
  name?: string;
}

export interface SessionSyncState {
  status: "idle" | "starting" | "ready" | "error";
  /** Why the last start failed. */
  error: unknown;
}

type Outcome = "started" | "kept" | "ended" | "no-token";

/** A verification this much newer (s) than the one last sent is a re-verification (`fva` counts minutes). */
const REVERIFIED_AFTER_S = 60;

const inflight = new WeakMap<SessionClient, Map<string, Promise<Outcome>>>();
const localLocks = new Map<string, Promise<unknown>>();
const MAX_REMEMBERED = 20;

export function useSessionSync(identity: IdentityState, options: SessionSyncOptions = {}): SessionSyncState {
  const { client } = useSessionGuardContext("useSessionSync");
  const [state, setState] = useState<SessionSyncState>({ status: "idle", error: null });
  const latest = useRef(identity);
  latest.current = identity;
  const name = options.name ?? "sessionguard";
  const deviceName = options.deviceName;
  const { isLoaded, isSignedIn, userId, sessionId, orgId, verifiedAt } = identity;
  // What the session's claims were last made of: set by /start, or sent to /claims.
  const synced = useRef<{ sessionId: string; orgId: string | null | undefined; verifiedAt: number | null | undefined; fresh: boolean } | null>(null);

  // The sessionguard session of the identity's user ended: end the identity session too.
  // Not when the session that ended was another user's (the identity switched accounts).
  useEffect(() => {
    let owner: string | null | undefined;
    const own = (userId: string) => {
      owner = userId;
    };
    const offs = [
      client.on("signedIn", ({ session }) => own(session.user_id)),
      client.on("tokensRefreshed", ({ session }) => own(session.user_id)),
      client.on("signedOut", () => {
        const ended = owner;
        owner = null;
        const id = latest.current;
        if (ended && ended === id.userId && id.isLoaded && id.isSignedIn) void id.signOut();
      }),
    ];
    void client.getSession().then((session) => {
      if (owner === undefined) owner = session?.user_id ?? null;
    });
    return () => {
      for (const off of offs) off();
    };
  }, [client]);

  useEffect(() => {
    if (!isLoaded) return;
    let cancelled = false;
    if (isSignedIn && userId && sessionId) {
      setState({ status: "starting", error: null });
      ensureSession(client, name, { userId, sessionId, getToken: () => latest.current.getToken(), deviceName })
        .then((outcome) => {
          if (outcome === "ended") void latest.current.signOut();
          // A session started now has the token's claims; a kept one may predate them.
          if (outcome === "started" || outcome === "kept") {
            const now = latest.current;
            synced.current = { sessionId, orgId: now.orgId, verifiedAt: now.verifiedAt, fresh: outcome === "started" };
          }
          if (!cancelled) setState({ status: outcome === "started" || outcome === "kept" ? "ready" : "idle", error: null });
        }, (error: unknown) => {
          if (!cancelled) setState({ status: "error", error });
        });
    } else if (!isSignedIn) {
      setState({ status: "idle", error: null });
      void withLock(name, async () => {
        if (await client.getSession()) await client.signOut("local").catch(() => {});
      });
    }
    return () => {
      cancelled = true;
    };
  }, [client, name, isLoaded, isSignedIn, userId, sessionId, deviceName]);

  // The organization switched, or the user re-verified: update the session's claims.
  useEffect(() => {
    const last = synced.current;
    if (state.status !== "ready" || !last || last.sessionId !== sessionId || orgId === undefined) return;
    const switched = last.orgId !== orgId || !last.fresh;
    const reverified = typeof verifiedAt === "number" &&
      (typeof last.verifiedAt !== "number" || verifiedAt > last.verifiedAt + REVERIFIED_AFTER_S);
    if (!switched && !reverified) return;
    synced.current = { sessionId, orgId, verifiedAt, fresh: true };
    void latest.current.getToken()
      .then((token) => token ? client.updateClaims(token) : undefined)
      // A later switch that succeeds clears the error an earlier one left.
      .then(() => setState((current) => current.error === null ? current : { ...current, error: null }))
      .catch((error: unknown) => setState((current) => ({ ...current, error })));
  }, [client, state.status, sessionId, orgId, verifiedAt]);

  return state;
}

/** Starts a session for this identity session unless one exists (or existed and ended). */
function ensureSession(
  client: SessionClient,
  name: string,
  who: { userId: string; sessionId: string; getToken(): Promise<string | null>; deviceName: string | undefined },
): Promise<Outcome> {
  let mine = inflight.get(client);
  if (!mine) inflight.set(client, mine = new Map());
  const key = `${who.userId}\u0000${who.sessionId}`;
  const running = mine.get(key);
  if (running) return running;
  const run = withLock(name, async (): Promise<Outcome> => {
    // Under the lock: a session another tab started is in storage by now.
    const current = await client.getSession();
    if (current?.user_id === who.userId) {
      remember(name, who.sessionId);
      return "kept";
    }
    if (started(name).includes(who.sessionId)) return "ended";
    // Someone else's session (the identity switched users): end it first.
    if (current) await client.signOut("local").catch(() => {});
    const token = await who.getToken();
    if (!token) return "no-token";
    await client.start(token, who.deviceName === undefined ? {} : { deviceName: who.deviceName });
    remember(name, who.sessionId);
    return "started";
  }).finally(() => mine!.delete(key));
  mine.set(key, run);
  return run;
}

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** Web Locks across tabs where they exist (secure contexts); else a lock within this page. */
function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const lockName = `${name}:session-sync`;
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (locks && typeof locks.request === "function") return locks.request(lockName, fn);
  const previous = localLocks.get(lockName) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  localLocks.set(lockName, run.catch(() => undefined));
  return run;
}

// Which identity sessions already had a sessionguard session, shared by the tabs through
// localStorage (only ids, no secrets). Where localStorage is missing, this page only.
const memory = new Map<string, string[]>();

function started(name: string): string[] {
  try {
    const raw = globalThis.localStorage?.getItem(`${name}.started-by`);
    if (raw) return JSON.parse(raw) as string[];
  } catch {
    // unreadable: fall back to memory
  }
  return memory.get(name) ?? [];
}

function remember(name: string, sessionId: string): void {
  const list = [sessionId, ...started(name).filter((id) => id !== sessionId)].slice(0, MAX_REMEMBERED);
  memory.set(name, list);
  try {
    globalThis.localStorage?.setItem(`${name}.started-by`, JSON.stringify(list));
  } catch {
    // storage full or blocked: memory still has it
  }
}
