/**
 * The page's buttons run their action with the button disabled and `aria-busy`, and
 * failures are announced in the page's status region, never thrown.
 */
import { useCallback, useState } from "react";
import { isSessionError } from "@sessionguard/client";

/** Session-ending failures: the page already switched to signed-out through the SDK's event. */
const SESSION_ENDED = new Set(["session_revoked", "session_expired", "not_signed_in"]);

export function isSessionEnded(err: unknown): boolean {
  return isSessionError(err) && SESSION_ENDED.has(err.code);
}

export interface Busy {
  /** Whether the action named `key` runs now. */
  is(key: string): boolean;
  /** Runs `action` as `key`; a failure becomes "Failed: …" in the status region. */
  run(key: string, action: () => Promise<void>): Promise<void>;
}

export function useBusy(setStatus: (text: string) => void): Busy {
  const [running, setRunning] = useState<ReadonlySet<string>>(new Set());
  const run = useCallback(async (key: string, action: () => Promise<void>) => {
    setRunning((s) => new Set(s).add(key));
    try {
      await action();
    } catch (err) {
      const text = isSessionError(err) ? `${err.code}: ${err.message}` : String((err as Error)?.message ?? err);
      setStatus(`Failed: ${text}`);
    } finally {
      setRunning((s) => {
        const next = new Set(s);
        next.delete(key);
        return next;
      });
    }
  }, [setStatus]);
  return { is: (key) => running.has(key), run };
}
