/**
 * @internal Loads something that belongs to the signed-in session (its devices, its
 * events), reloads it when another session signs in, and drops it when the session
 * ends (`signedOut`, `theftDetected`): what a signed-out page shows is never stale.
 *
 * It keeps itself current without a button: every `refreshInterval` while the page is
 * visible, when the page becomes visible again, when a list of the same client
 * changed something (a device signed out here adds a security event there), and when the
 * server announces one of the user's events on Realtime (use-supabase-client.ts). A poll is
 * the session's next request too: a session revoked elsewhere is signed out by it.
 */
import { type Ref, useCallback, useEffect, useImperativeHandle, useRef, useState } from "react";
import { isSessionError, type SessionClient, SessionError } from "@sessionguard/client";
import { useSessionGuardContext } from "./provider.tsx";
import { useSession } from "./use-session.ts";

export type ResourceStatus = "idle" | "loading" | "ready" | "error";

export interface ResourceState<T> {
  /** `idle` while signed out, `loading` on the first load, then `ready` or `error`. */
  status: ResourceStatus;
  data: T | null;
  /** The last failure, as the SDK's error (switch on `code`). */
  error: SessionError | null;
  /**
   * Loads again; resolves when done, with the failure (also in `error`) or null. It
   * never rejects.
   */
  reload(): Promise<SessionError | null>;
}

/** How a list keeps itself current. */
export interface ResourceOptions {
  /**
   * Milliseconds between reloads while the page is visible; 0 turns polling off (it still
   * reloads when the page becomes visible and after changes made here). Default 30 000.
   */
  refreshInterval?: number;
}

const DEFAULT_REFRESH_INTERVAL = 30_000;

/** Per client: lists that want to hear that something changed (a device was signed out here). */
const changeListeners = new WeakMap<SessionClient, Set<() => Promise<unknown>>>();

/**
 * @internal Tells every list of `client` but `except` (the caller's own, which reloads
 * itself and waits for it) to load again, after this page changed the session set.
 */
export function announceChange(client: SessionClient, except?: () => Promise<unknown>): void {
  for (const reload of [...(changeListeners.get(client) ?? [])]) {
    if (reload !== except) void reload();
  }
}

export function useSessionResource<T>(
  hook: string,
  load: (client: SessionClient) => Promise<T>,
  { refreshInterval = DEFAULT_REFRESH_INTERVAL }: ResourceOptions = {},
): ResourceState<T> {
  const { client } = useSessionGuardContext(hook);
  const { status: sessionStatus, sessionId } = useSession();
  const [state, setState] = useState<{ status: ResourceStatus; data: T | null; error: SessionError | null }>(
    { status: "idle", data: null, error: null },
  );
  // Answers are shown in the order their requests were sent: one older than the answer
  // shown (or than the last sign-out: an earlier session's) is dropped, and a newer one is
  // shown at once, even while a later request is still out. (Dropping every answer but
  // the latest request's left a list stale while that one was out: a device just signed
  // out here stayed on screen when a Realtime announcement started another load.)
  const sent = useRef(0);
  const shown = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(async (): Promise<SessionError | null> => {
    const mine = ++sent.current;
    setState((s) => ({ ...s, status: s.data === null ? "loading" : s.status }));
    try {
      const data = await loadRef.current(client);
      if (mine > shown.current) {
        shown.current = mine;
        setState({ status: "ready", data, error: null });
      }
      return null;
    } catch (err) {
      const error = isSessionError(err) ? err : new SessionError("invalid_response", String(err));
      if (mine > shown.current) {
        shown.current = mine;
        setState((s) => ({ ...s, status: "error", error }));
      }
      return error;
    }
  }, [client]);

  useEffect(() => {
    if (sessionStatus === "signed-in" && sessionId) {
      void reload();
    } else if (sessionStatus === "signed-out") {
      shown.current = ++sent.current;
      setState({ status: "idle", data: null, error: null });
    }
  }, [sessionStatus, sessionId, reload]);

  useEffect(() => {
    if (sessionStatus !== "signed-in" || typeof document === "undefined") return;
    const whenVisible = () => {
      if (document.visibilityState === "visible") void reload();
    };
    let listeners = changeListeners.get(client);
    if (!listeners) changeListeners.set(client, listeners = new Set());
    listeners.add(reload);
    document.addEventListener("visibilitychange", whenVisible);
    const timer = refreshInterval > 0 ? setInterval(whenVisible, refreshInterval) : undefined;
    return () => {
      listeners.delete(reload);
      document.removeEventListener("visibilitychange", whenVisible);
      clearInterval(timer);
    };
  }, [client, sessionStatus, reload, refreshInterval]);

  return { ...state, reload };
}

/**
 * What `ref` on `<DeviceList/>` and `<SecurityEvents/>` gives the page around them: a
 * reload from outside (a page-wide "reload" button), which resolves once the list is
 * loaded and rejects with the SDK's error when loading failed (the list shows it too).
 */
export interface ListHandle {
  reload(): Promise<void>;
}

/** @internal Exposes a resource's reload through a component's `ref`. */
export function useListHandle(ref: Ref<ListHandle> | undefined, reload: () => Promise<SessionError | null>): void {
  useImperativeHandle(ref, () => ({
    async reload() {
      const error = await reload();
      if (error) throw error;
    },
  }), [reload]);
}
