/**
 * The session as React sees it: a small external store over a session client, read
 * with `useSyncExternalStore`. It subscribes to the client only while a component
 * listens, and never on the server (React calls `subscribe` only in the browser), so
 * rendering on the server touches neither storage nor timers.
 */
import type { SessionClient, SessionInfo, SignedOutReason } from "@sessionguard/client";

export type SessionStatus = "loading" | "signed-in" | "signed-out";

/** What {@link useSession} reads. A new object whenever anything in it changes. */
export interface SessionSnapshot {
  readonly status: SessionStatus;
  /** Ids and expiry of the signed-in session (no tokens), or null. */
  readonly session: SessionInfo | null;
  /** Why the last session ended here, until the next sign-in; null when none ended. */
  readonly signedOutReason: SignedOutReason | null;
  /** The last session ended because a spent refresh token was presented again. */
  readonly theftDetected: boolean;
}

export interface SessionStore {
  subscribe(listener: () => void): () => void;
  getSnapshot(): SessionSnapshot;
  getServerSnapshot(): SessionSnapshot;
}

/** What the server renders, and the browser before storage has been read. */
export const LOADING: SessionSnapshot = Object.freeze({
  status: "loading",
  session: null,
  signedOutReason: null,
  theftDetected: false,
});

export function createSessionStore(client: SessionClient): SessionStore {
  let snapshot: SessionSnapshot = LOADING;
  const listeners = new Set<() => void>();
  let detach: (() => void) | null = null;

  const set = (next: Partial<SessionSnapshot>) => {
    snapshot = { ...snapshot, ...next };
    for (const listener of [...listeners]) listener();
  };

  const attach = () => {
    let live = true;
    const offs = [
      client.on("signedIn", ({ session }) =>
        set({ status: "signed-in", session, signedOutReason: null, theftDetected: false })
      ),
      client.on("tokensRefreshed", ({ session }) => set({ status: "signed-in", session })),
      client.on("theftDetected", () => set({ theftDetected: true })),
      client.on("signedOut", ({ reason }) =>
        set({ status: "signed-out", session: null, signedOutReason: reason })
      ),
    ];
    // The first read of storage; an event that arrived meanwhile is newer and wins.
    void client.getSession().then(
      (session) => {
        if (live && snapshot.status === "loading") {
          set({ status: session ? "signed-in" : "signed-out", session });
        }
      },
      () => {
        if (live && snapshot.status === "loading") set({ status: "signed-out" });
      },
    );
    return () => {
      live = false;
      for (const off of offs) off();
    };
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      detach ??= attach();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && detach) {
          detach();
          detach = null;
        }
      };
    },
    getSnapshot: () => snapshot,
    getServerSnapshot: () => LOADING,
  };
}
