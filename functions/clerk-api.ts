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
import { type Attempted, maxDurationMs, retryPolicy, withRetries } from "./outbound-retry.ts";

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
  const policy = retryPolicy(options, { timeoutMs: 2000, attempts: 3, backoffMs: 200 });
  const doFetch = options.fetch ?? fetch;

  async function attempt(
    url: string,
    combined: AbortSignal,
    timedOut: () => boolean,
    signal: AbortSignal | undefined,
  ): Promise<Attempted<Failed | { ok: true; status: number }>> {
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
        return { outcome: { ok: true, status: response.status }, retry: false };
      }
      const detail = await clerkErrorCode(response);
      const transient = response.status >= 500 || response.status === 408 || response.status === 429;
      return {
        outcome: {
          ok: false,
          reason: transient ? "unavailable" : "rejected",
          status: response.status,
          detail: `HTTP ${response.status}${detail ? ` ${detail}` : ""}`,
        },
        retry: transient,
      };
    } catch (error) {
      if (signal?.aborted) return failure("aborted", "aborted by the caller", false);
      if (timedOut()) return failure("timeout", `no answer within ${policy.timeoutMs} ms`, true);
      return failure("network", describe(error), true);
    }
  }

  return {
    maxDurationMs: maxDurationMs(policy),
    timeoutMs: policy.timeoutMs,
    async revokeSession(clerkSessionId, signal) {
      const url = `${apiUrl}/v1/sessions/${encodeURIComponent(clerkSessionId)}/revoke`;
      const { outcome, attempts, aborted } = await withRetries(
        policy,
        (combined, timedOut) => attempt(url, combined, timedOut, signal),
        signal,
      );
      if (aborted) return { ok: false, reason: "aborted", status: outcome.status, attempts, detail: "aborted by the caller" };
      return { ...outcome, attempts };
    },
  };
}

type Failed = Omit<Extract<RevokeOutcome, { ok: false }>, "attempts">;

function failure(reason: Failed["reason"], detail: string, retry: boolean): Attempted<Failed> {
  return { outcome: { ok: false, reason, status: null, detail }, retry };
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
