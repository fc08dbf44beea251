/**
 * @internal Loads something that belongs to the signed-in session (its devices, its
 * events), reloads it when another session signs in, and drops it when the session
 * ends (`signedOut`, `theftDetected`): what a signed-out page shows is never stale.
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

export function useSessionResource<T>(
  hook: string,
  load: (client: SessionClient) => Promise<T>,
): ResourceState<T> {
  const { client } = useSessionGuardContext(hook);
  const { status: sessionStatus, sessionId } = useSession();
  const [state, setState] = useState<{ status: ResourceStatus; data: T | null; error: SessionError | null }>(
    { status: "idle", data: null, error: null },
  );
  // Answers to older requests (an earlier session's, say) are dropped.
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(async (): Promise<SessionError | null> => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, status: s.data === null ? "loading" : s.status }));
    try {
      const data = await loadRef.current(client);
      if (mine === generation.current) setState({ status: "ready", data, error: null });
      return null;
    } catch (err) {
      const error = isSessionError(err) ? err : new SessionError("invalid_response", String(err));
      if (mine === generation.current) setState((s) => ({ ...s, status: "error", error }));
      return error;
    }
  }, [client]);

  useEffect(() => {
    if (sessionStatus === "signed-in" && sessionId) {
      void reload();
    } else if (sessionStatus === "signed-out") {
      generation.current++;
      setState({ status: "idle", data: null, error: null });
    }
  }, [sessionStatus, sessionId, reload]);

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
