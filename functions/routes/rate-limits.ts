/**
 * The rate-limit budgets in TypeScript: `/start` counts per Clerk user and per
 * ip; every call of an access token counts against its session's budget (the
 * refresh budget of `SESSION_RATE_LIMITS`) and its ip's. `/refresh` counts the
 * same session and ip budgets inside `refresh_session`, in the database (one
 * round trip with the rotation).
 *
 * The keys the counters are stored under (`start:user:…`, `api:family:…`,
 * `refresh:ip:…`) are built in one place for every route: the SQL function
 * `sessionguard.count_request` (migration `*_rate_limits_and_dpop_proofs.sql`). This
 * file says only which route, whose budget and how large.
 */
import { IP_BUDGET_FACTOR, type RateLimits } from "../config.ts";
import { ApiError } from "../errors.ts";
import type { Budget, RequestCount } from "../store.ts";

/** What a `/start` by `userId` from `ip` counts; null when limits are off. */
export function startCount(limits: RateLimits, userId: string, ip: string | null): RequestCount | null {
  return limits === null ? null : requestCount("start", userId, ip, limits.start);
}

/**
 * What an access-token call of session `sessionId` from `ip` counts; null when
 * limits are off. A `stranger` (no proof of a bound session's key) is counted apart.
 */
export function sessionCount(
  limits: RateLimits,
  sessionId: string,
  ip: string | null,
  stranger = false,
): RequestCount | null {
  return limits === null ? null : { ...requestCount("api", sessionId, ip, limits.refresh), stranger };
}

function requestCount(
  route: RequestCount["route"],
  subject: string,
  ip: string | null,
  budget: Budget,
): RequestCount {
  return { route, subject, ip, budget, ipCount: ipBudget(budget).count };
}

/** A budget for everything behind one ip. */
export function ipBudget(budget: Budget): Budget {
  return { count: budget.count * IP_BUDGET_FACTOR, seconds: budget.seconds };
}

/** 429 with the seconds to wait. */
export function rateLimited(seconds: number, detail: string): ApiError {
  return new ApiError("rate_limited", { headers: { "retry-after": String(seconds) }, detail });
}
