/**
 * The one retry loop of the product's outgoing calls (Clerk's Backend API in
 * clerk-api.ts, the security webhook in security-webhook.ts): bounded attempts,
 * each with its own timeout, spaced by doubling backoff, stoppable by the
 * caller's signal between and during attempts. What counts as worth retrying is
 * the caller's to say.
 */

/** How often and how long to try. */
export interface RetryPolicy {
  /** Per attempt, ms. */
  readonly timeoutMs: number;
  /** Attempts in all, at least 1. */
  readonly attempts: number;
  /** Wait before the second attempt, ms; doubled before each further one. */
  readonly backoffMs: number;
}

/** `given` over `defaults`, attempts rounded down and at least 1. */
export function retryPolicy(given: Partial<RetryPolicy>, defaults: RetryPolicy): RetryPolicy {
  return {
    timeoutMs: given.timeoutMs ?? defaults.timeoutMs,
    attempts: Math.max(1, Math.floor(given.attempts ?? defaults.attempts)),
    backoffMs: given.backoffMs ?? defaults.backoffMs,
  };
}

/** The longest a call can take: every attempt timing out, plus the backoffs. */
export function maxDurationMs({ timeoutMs, attempts, backoffMs }: RetryPolicy): number {
  let backoff = 0;
  for (let i = 1; i < attempts; i++) backoff += backoffMs * 2 ** (i - 1);
  return attempts * timeoutMs + backoff;
}

/** What one attempt came to, and whether another is worth making. */
export interface Attempted<T> {
  readonly outcome: T;
  readonly retry: boolean;
}

/**
 * Runs `attempt` until it needs no retry or the attempts are spent. Each attempt
 * gets a signal that aborts at its timeout (`timedOut` tells the two apart) or
 * when `signal` does. Resolves with the last outcome, how many attempts were
 * made, and whether the caller's signal stopped it during a backoff.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: (signal: AbortSignal, timedOut: () => boolean) => Promise<Attempted<T>>,
  signal?: AbortSignal,
): Promise<{ outcome: T; attempts: number; aborted: boolean }> {
  for (let n = 1;; n++) {
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const { outcome, retry } = await attempt(combined, () => timeout.aborted);
    if (!retry || n >= policy.attempts) return { outcome, attempts: n, aborted: false };
    if (!(await pause(policy.backoffMs * 2 ** (n - 1), signal))) return { outcome, attempts: n, aborted: true };
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
