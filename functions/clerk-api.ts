/**
 * A small client for the one call sessionguard makes to Clerk's Backend API:
 * `POST /v1/sessions/{id}/revoke`, which ends a Clerk session after its
 * sessionguard session was caught being replayed.
 *
 * It is built to sit on a request's critical path without holding it up: each
 * attempt has a short timeout, transient failures (network, timeout, 408, 429,
 * 5xx) are retried a bounded number of times with exponential backoff, and
 * other answers (400, 401, 404...) are final at once. It never throws: the
 * outcome says what happened, for the caller to record.
 */
import { describe } from "./describe-error.ts";

/** Clerk's Backend API origin. */
export const CLERK_API_URL = "https://api.clerk.com";

/** How the client reaches Clerk. */
export interface ClerkApiOptions {
  /** `CLERK_SECRET_KEY` (`sk_live_...` / `sk_test_...`). */
  readonly secretKey: string;
  /** Backend API origin; {@link CLERK_API_URL} unless a stand-in is used. */
  readonly apiUrl?: string;
  /** Per attempt, ms. Default 2000. */
  readonly timeoutMs?: number;
  /** Attempts in all, at least 1. Default 3. */
  readonly attempts?: number;
  /** Wait before the second attempt, ms; doubled before each further one. Default 200. */
  readonly backoffMs?: number;
  readonly fetch?: typeof fetch;
}

/** What came of a revocation. */
export type RevokeOutcome =
  | { readonly ok: true; readonly status: number; readonly attempts: number }
  | {
    readonly ok: false;
    /** `rejected`: a final 4xx; `unavailable`: 5xx/408/429 to the end; `timeout`; `network`; `aborted`. */
    readonly reason: "rejected" | "unavailable" | "timeout" | "network" | "aborted";
    /** The last HTTP status, or null when no answer came. */
    readonly status: number | null;
    readonly attempts: number;
    /** For the log: Clerk's error code or the transport error; never the secret key. */
    readonly detail: string;
  };

/** The calls made to Clerk. */
export interface ClerkApi {
  /** Revokes the Clerk session; `signal` aborts between and during attempts. */
  revokeSession(clerkSessionId: string, signal?: AbortSignal): Promise<RevokeOutcome>;
  /** The longest `revokeSession` can take: every attempt timing out, plus the backoffs. */
  readonly maxDurationMs: number;
  /** The timeout of one attempt, ms. */
  readonly timeoutMs: number;
}

/** Builds the client. */
export function createClerkApi(options: ClerkApiOptions): ClerkApi {
  const apiUrl = (options.apiUrl ?? CLERK_API_URL).replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? 2000;
  const attempts = Math.max(1, Math.floor(options.attempts ?? 3));
  const backoffMs = options.backoffMs ?? 200;
  const doFetch = options.fetch ?? fetch;
  let backoffTotal = 0;
  for (let i = 1; i < attempts; i++) backoffTotal += backoffMs * 2 ** (i - 1);

  async function attempt(
    url: string,
    signal: AbortSignal | undefined,
  ): Promise<RevokeOutcome & { retry: boolean }> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const response = await doFetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${options.secretKey}`,
          accept: "application/json",
          "user-agent": "sessionguard",
        },
        redirect: "manual",
        signal: combined,
      });
      if (response.ok) {
        await response.body?.cancel().catch(() => {});
        return { ok: true, status: response.status, attempts: 0, retry: false };
      }
      const detail = await clerkErrorCode(response);
      const transient = response.status >= 500 || response.status === 408 || response.status === 429;
      return {
        ok: false,
        reason: transient ? "unavailable" : "rejected",
        status: response.status,
        attempts: 0,
        detail: `HTTP ${response.status}${detail ? ` ${detail}` : ""}`,
        retry: transient,
      };
    } catch (error) {
      if (signal?.aborted) return failure("aborted", null, "aborted by the caller", false);
      if (timeout.aborted) return failure("timeout", null, `no answer within ${timeoutMs} ms`, true);
      return failure("network", null, describe(error), true);
    }
  }

  return {
    maxDurationMs: attempts * timeoutMs + backoffTotal,
    timeoutMs,
    async revokeSession(clerkSessionId, signal) {
      const url = `${apiUrl}/v1/sessions/${encodeURIComponent(clerkSessionId)}/revoke`;
      for (let n = 1;; n++) {
        const { retry, ...outcome } = await attempt(url, signal);
        if (!retry || n >= attempts) return { ...outcome, attempts: n };
        if (!(await pause(backoffMs * 2 ** (n - 1), signal))) {
          return {
            ok: false,
            reason: "aborted",
            status: outcome.status,
            attempts: n,
            detail: "aborted by the caller",
          };
        }
      }
    },
  };
}

function failure(
  reason: "rejected" | "unavailable" | "timeout" | "network" | "aborted",
  status: number | null,
  detail: string,
  retry: boolean,
): RevokeOutcome & { retry: boolean } {
  return { ok: false, reason, status, attempts: 0, detail, retry };
}

/** Clerk's error code from an error answer (`{"errors": [{"code"}]}`), read from at most 4 KiB. */
async function clerkErrorCode(response: Response): Promise<string> {
  try {
    const text = (await response.text()).slice(0, 4096);
    const code = JSON.parse(text)?.errors?.[0]?.code;
    return typeof code === "string" ? code.replace(/[^\w.-]/g, "").slice(0, 100) : "";
  } catch {
    return "";
  }
}

/** Waits `ms`; false when `signal` aborts first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
