/**
 * Cross-tab coordination of refreshes. Refresh tokens are one-time: two tabs that each
 * present the same token a minute apart look exactly like theft. So every refresh runs
 * under an exclusive lock named after the storage key, and the tab that rotated hands
 * the new tokens to the others.
 *
 * - Browsers: the Web Locks API (`navigator.locks`) for the lock, BroadcastChannel for
 *   the hand-over. Both are scoped to the origin, like localStorage.
 * - Elsewhere (Node, Deno, old browsers): an in-process lock and bus, which coordinates
 *   clients of one process that share a storage key.
 */
import type { SignedOutReason } from "./events.ts";
import type { StoredSession } from "./types.ts";

export type TabMessage =
  | { type: "tokens"; from: string; session: StoredSession }
  | { type: "signedIn"; from: string; session: StoredSession }
  | { type: "signedOut"; from: string; reason: SignedOutReason };

export interface Coordinator {
  /** Runs `fn` while holding the exclusive lock `name`. */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Tells the other tabs (not this one). */
  publish(message: TabMessage): void;
  /** Listens to the other tabs; returns an unsubscribe function. */
  subscribe(listener: (message: TabMessage) => void): () => void;
  close(): void;
}

interface LockManagerLike {
  request<T>(
    name: string,
    options: { mode?: "exclusive" | "shared"; signal?: AbortSignal },
    callback: () => Promise<T>,
  ): Promise<T>;
}

const LOCK_WAIT_MS = 30_000;

/** Web Locks + BroadcastChannel, or null when the runtime lacks Web Locks. */
export function webCoordinator(channelName: string): Coordinator | null {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } })
    .navigator?.locks;
  if (!locks || typeof locks.request !== "function") return null;
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(channelName) : null;
  const local = channel ? null : localCoordinator(channelName);
  return {
    withLock(name, fn) {
      // A tab frozen while holding the lock must not wedge every other tab forever.
      const signal = typeof AbortSignal.timeout === "function"
        ? AbortSignal.timeout(LOCK_WAIT_MS)
        : undefined;
      return locks.request(name, { mode: "exclusive", signal }, fn);
    },
    publish(message) {
      if (channel) channel.postMessage(message);
      else local!.publish(message);
    },
    subscribe(listener) {
      if (!channel) return local!.subscribe(listener);
      const onMessage = (event: MessageEvent) => {
        if (isTabMessage(event.data)) listener(event.data);
      };
      channel.addEventListener("message", onMessage);
      return () => channel.removeEventListener("message", onMessage);
    },
    close() {
      channel?.close();
      local?.close();
    },
  };
}

interface Scope {
  locks: Map<string, Promise<unknown>>;
  bus: Map<string, Set<(message: TabMessage) => void>>;
}
const scopes = new WeakMap<object, Scope>();
const globalScope: Scope = { locks: new Map(), bus: new Map() };

/**
 * In-process lock and bus, keyed by name within `scope`: clients of one process that share
 * a storage object (pass it as the scope) and key coordinate; clients with separate storages
 * (one per user on a server, say) never see each other.
 */
export function localCoordinator(
  channelName: string,
  scope?: object,
): Coordinator {
  let state = globalScope;
  if (scope) {
    state = scopes.get(scope) ?? { locks: new Map(), bus: new Map() };
    scopes.set(scope, state);
  }
  const { locks: processLocks, bus: processBus } = state;
  const mine = new Set<(message: TabMessage) => void>();
  return {
    async withLock(name, fn) {
      const previous = processLocks.get(name) ?? Promise.resolve();
      const run = previous.then(fn, fn);
      const tail = run.catch(() => undefined);
      processLocks.set(name, tail);
      try {
        return await run;
      } finally {
        if (processLocks.get(name) === tail) processLocks.delete(name);
      }
    },
    publish(message) {
      for (const listener of processBus.get(channelName) ?? []) {
        if (!mine.has(listener)) queueMicrotask(() => listener(message));
      }
    },
    subscribe(listener) {
      let set = processBus.get(channelName);
      if (!set) processBus.set(channelName, set = new Set());
      set.add(listener);
      mine.add(listener);
      return () => {
        set!.delete(listener);
        mine.delete(listener);
      };
    },
    close() {
      const set = processBus.get(channelName);
      for (const listener of mine) set?.delete(listener);
      mine.clear();
    },
  };
}

function isTabMessage(value: unknown): value is TabMessage {
  if (!value || typeof value !== "object") return false;
  const { type, from } = value as Record<string, unknown>;
  return typeof from === "string" &&
    (type === "tokens" || type === "signedIn" || type === "signedOut");
}
