/**
 * The invariants of a load or fault run, checked against what the clients saw
 * (families.ts) and what the database holds afterwards:
 *
 *  - one successor: every 200 for a presented token carried the same refresh
 *    token string, of the next generation of the same family (P3, P9);
 *  - nothing invented, nothing lost: a family's generation is at least the
 *    number of distinct successors its clients received and exceeds it by at
 *    most the requests they dropped without ever learning the outcome;
 *  - revocation exactly where deserved: families whose thief replayed outside
 *    the window are revoked with `refresh_token_reused` (one event, with the
 *    thief's ip and user agent); every other family is live and has only its
 *    `session_started` event (P2, P4);
 *  - the answers themselves: thieves got `refresh_token_reused` (or, inside the
 *    window, the owner's own successor), forgers `invalid_refresh_token`, and
 *    the owner `session_revoked` for everything sent after the thief was
 *    answered.
 */
import type postgres from "postgres";
import { type Exchange, type FamilyRun, generationOf } from "./families.ts";
import { outcomeLabel } from "./traffic.ts";

/** What the checks found. */
export interface InvariantReport {
  readonly families: number;
  /** Individual checks made. */
  checks: number;
  /** Presented tokens that got at least one 200 (each checked for a single successor). */
  presentedWithSuccess: number;
  /** 200 answers in total (grace retries and racing tabs included). */
  successfulAnswers: number;
  /** Distinct rotations the clients observed. */
  rotationsObserved: number;
  /** Requests dropped by a client whose outcome it never learnt. */
  unresolvedDrops: number;
  revokedExpected: number;
  revokedFound: number;
  readonly violations: string[];
}

interface FamilyRow {
  id: string;
  user_id: string;
  generation: string;
  revoked_reason: string | null;
}

interface EventRow {
  session_id: string;
  type: string;
  ip: string | null;
  user_agent: string | null;
}

const isOk = (exchange: Exchange) =>
  exchange.answer.kind === "http" && exchange.answer.status === 200 && exchange.answer.refreshToken !== null;

/** Checks every family of a run; violations are sentences naming the family. */
export async function checkInvariants(
  sql: postgres.Sql,
  families: readonly FamilyRun[],
): Promise<InvariantReport> {
  const ids = families.map((family) => family.id);
  const rows = await sql<FamilyRow[]>`
    select id, user_id, generation::text as generation, revoked_reason
    from sessionguard.families where id = any(${ids}::uuid[])`;
  const events = await sql<EventRow[]>`
    select session_id, type, host(ip) as ip, user_agent
    from sessionguard.events where session_id = any(${ids}::uuid[]) order by id`;
  const rowOf = new Map(rows.map((row) => [row.id, row]));
  const eventsOf = new Map<string, EventRow[]>();
  for (const event of events) {
    eventsOf.set(event.session_id, [...(eventsOf.get(event.session_id) ?? []), event]);
  }

  const report: InvariantReport = {
    families: families.length,
    checks: 0,
    presentedWithSuccess: 0,
    successfulAnswers: 0,
    rotationsObserved: 0,
    unresolvedDrops: 0,
    revokedExpected: 0,
    revokedFound: 0,
    violations: [],
  };
  const check = (ok: boolean, family: FamilyRun, what: string) => {
    report.checks++;
    if (!ok) report.violations.push(`family ${family.id} (${family.attack ?? "honest"}): ${what}`);
  };

  for (const family of families) {
    const row = rowOf.get(family.id);
    check(row !== undefined && row.user_id === family.userId, family, "missing from the database");
    if (!row) continue;

    // One successor per presented token, one generation ahead, same family.
    const successors = new Map<string, Set<string>>();
    for (const exchange of family.exchanges) {
      if (!isOk(exchange)) continue;
      report.successfulAnswers++;
      const set = successors.get(exchange.token) ?? new Set<string>();
      set.add(exchange.answer.kind === "http" ? exchange.answer.refreshToken! : "");
      successors.set(exchange.token, set);
    }
    const distinct = new Set<string>();
    for (const [token, set] of successors) {
      report.presentedWithSuccess++;
      check(set.size === 1, family, `token of generation ${generationOf(token)} got ${set.size} successors`);
      for (const successor of set) {
        distinct.add(successor);
        check(
          successor.split(".")[1] === family.id && generationOf(successor) === generationOf(token) + 1,
          family,
          `successor ${successor} does not follow generation ${generationOf(token)}`,
        );
      }
    }
    report.rotationsObserved += distinct.size;

    // The database's generation against what the clients saw.
    const unresolved = [...family.aborted].filter((token) => !successors.has(token)).length;
    report.unresolvedDrops += unresolved;
    const generation = Number(row.generation);
    check(
      generation >= distinct.size && generation <= distinct.size + unresolved,
      family,
      `generation ${generation} but ${distinct.size} rotations observed (${unresolved} unresolved drops)`,
    );

    // Revocation and events.
    const revokedExpected = family.attack === "stale" || family.attack === "window";
    if (revokedExpected) report.revokedExpected++;
    if (row.revoked_reason !== null) report.revokedFound++;
    check(
      row.revoked_reason === (revokedExpected ? "refresh_token_reused" : null),
      family,
      `revoked_reason is ${row.revoked_reason}`,
    );
    const types = (eventsOf.get(family.id) ?? []).map((event) => event.type);
    check(
      JSON.stringify(types) ===
        JSON.stringify(revokedExpected ? ["session_started", "refresh_token_reused"] : ["session_started"]),
      family,
      `events ${types.join(", ")}`,
    );
    if (revokedExpected) {
      const theft = eventsOf.get(family.id)?.find((event) => event.type === "refresh_token_reused");
      check(
        theft?.ip === family.thief.ip && theft?.user_agent === family.thief.userAgent,
        family,
        `theft event names ${theft?.ip} / ${theft?.user_agent}, not the thief`,
      );
    }

    checkAnswers(family, check);
  }
  return report;
}

/** What each party of a family was answered. */
function checkAnswers(family: FamilyRun, check: (ok: boolean, family: FamilyRun, what: string) => void) {
  const label = (exchange: Exchange) => outcomeLabel(exchange.answer);
  const final = (exchanges: Exchange[]) => exchanges.filter((e) => e.answer.kind !== "aborted").at(-1);
  const thief = family.exchanges.filter((e) => e.by === "thief");
  const owner = family.exchanges.filter((e) => e.by === "owner" || e.by === "probe");

  switch (family.attack) {
    case "stale":
    case "window": {
      const answer = final(thief);
      check(
        answer !== undefined && label(answer) === "401 refresh_token_reused",
        family,
        `thief got ${answer ? label(answer) : "nothing"}`,
      );
      // Revocation is instant: whatever the owner sent after the thief was answered is refused.
      for (const exchange of owner.filter((e) => e.afterAttack && e.answer.kind === "http")) {
        check(
          label(exchange) === "401 session_revoked",
          family,
          `owner got ${label(exchange)} after the theft`,
        );
      }
      check(owner.some((e) => e.afterAttack), family, "owner never tried again after the theft");
      return;
    }
    case "in_window": {
      const answer = final(thief);
      check(
        answer?.answer.kind === "http" && answer.answer.refreshToken === family.successorOfStolen,
        family,
        `in-window replay got ${answer ? label(answer) : "nothing"}, not the owner's successor`,
      );
      break;
    }
    case "forged":
      for (const exchange of family.exchanges.filter((e) => e.by === "forger")) {
        check(label(exchange) === "401 invalid_refresh_token", family, `forgery got ${label(exchange)}`);
      }
      break;
  }
  // Families nobody stole from: the owner's last word on every token is a 200.
  const last = final(owner);
  check(last !== undefined && isOk(last), family, `owner ended with ${last ? label(last) : "nothing"}`);
  check(family.stopped === null, family, `owner stopped early: ${family.stopped}`);
}
