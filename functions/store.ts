/**
 * The session function's storage: one postgres.js call per operation, each a
 * single round trip to a `sessionguard.*` API function (see the migrations).
 *
 * Every decision about a family — rotate, grace retry, reuse, expiry — is
 * taken inside those functions under a row lock; the store only passes the
 * request's facts in and types the answer. By concern:
 *   - `store/refresh.ts`: start, refresh and the per-request guards;
 *   - `store/account.ts`: status, lists, revocation;
 *   - `store/claims.ts`: a session's Clerk claims (organization, verification);
 *   - `store/database.ts`: the pool and the error mapping they share.
 */
import { type AccountQueries, accountQueries } from "./store/account.ts";
import { type ClaimsQueries, claimsQueries } from "./store/claims.ts";
import type { Sql } from "./store/database.ts";
import { type RefreshQueries, refreshQueries } from "./store/refresh.ts";

export type { EventRow, RevokeReason, SessionRow, SessionStatus } from "./store/account.ts";
export { openDatabase, type Sql } from "./store/database.ts";
export type { ClaimsResult } from "./store/claims.ts";
export type { Budget, RefreshPolicy, RequestCount, RequestFacts, RotateResult } from "./store/refresh.ts";

/** Session storage, one round trip per call. */
export interface Store extends RefreshQueries, AccountQueries, ClaimsQueries {}

/** Builds the store over a postgres.js client. */
export function createStore(sql: Sql): Store {
  return { ...refreshQueries(sql), ...accountQueries(sql), ...claimsQueries(sql) };
}
