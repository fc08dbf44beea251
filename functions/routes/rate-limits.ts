/**
 * The rate-limit budgets in TypeScript: `/start` counts per Clerk user and per
 * ip; every call of an access token counts against its session's budget (the
 * refresh budget of `SESSION_RATE_LIMITS`) and its ip's. `/refresh` counts the
 * same session and ip budgets, inside `refresh_session` in the database (one
 * round trip with the rotation).
 *
 * The keys (`start:user:…`, `api:family:…`) are stored counters: renaming them
 * would reset every live window, so `family` stays in them.
 */
import { IP_BUDGET_FACTOR, type RateLimits } from "../config.ts";
import { ApiError } from "../errors.ts";
import type { Budget } from "../store.ts";

/** One budget to count a request against. */
export interface RateLimitCheck {
  readonly key: string;
  readonly budget: Budget;
}

/** The checks of a `/start` by `userId` from `ip`; none when limits are off. */
export function startChecks(limits: RateLimits, userId: string, ip: string | null): RateLimitCheck[] {
  if (limits === null) return [];
  return [
    { key: `start:user:${userId}`, budget: limits.start },
    ...(ip === null ? [] : [{ key: `start:ip:${ip}`, budget: ipBudget(limits.start) }]),
  ];
}

/** The checks of an access-token call of session `sessionId` from `ip`; none when limits are off. */
export function sessionChecks(limits: RateLimits, sessionId: string, ip: string | null): RateLimitCheck[] {
  if (limits === null) return [];
  return [
    { key: `api:family:${sessionId}`, budget: limits.refresh },
    ...(ip === null ? [] : [{ key: `api:ip:${ip}`, budget: ipBudget(limits.refresh) }]),
  ];
}

/** A budget for everything behind one ip. */
export function ipBudget(budget: Budget): Budget {
  return { count: budget.count * IP_BUDGET_FACTOR, seconds: budget.seconds };
}

/** 429 with the seconds to wait. */
export function rateLimited(seconds: number, detail: string): ApiError {
  return new ApiError("rate_limited", { headers: { "retry-after": String(seconds) }, detail });
}
