/**
 * A Clerk webhook that ends a session (or deletes a user) racing a /start of
 * that session, on two real connections to Postgres (issue 12, item 2).
 *
 * start_session reads clerk_endings, then inserts the family; apply_clerk_event
 * inserts the ending, then revokes the families. Without serialisation a start
 * that runs while the webhook's transaction is open sees no ending, and the
 * webhook's update does not see the new family: a family outlives the Clerk
 * session. Each test holds one side's transaction open, runs the other side,
 * lets the first commit, and then requires that no family of that Clerk
 * session (or user) is left alive.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseUrl } from "../support/context.ts";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";

let webhookDb: postgres.Sql;
let startDb: postgres.Sql;
let observer: postgres.Sql;

const connect = (name: string) =>
  postgres(testDatabaseUrl(), { max: 1, onnotice: () => {}, connection: { application_name: name } });

beforeAll(() => {
  webhookDb = connect("race-webhook");
  startDb = connect("race-start");
  observer = connect("race-observer");
});
afterAll(async () => {
  await Promise.all([webhookDb, startDb, observer].map((sql) => sql?.end({ timeout: 1 })));
});

/**
 * Waits until `pending` has settled or the connection named `name` is waiting on a
 * lock, whichever comes first, so the tests do not depend on how fast a loaded machine
 * runs: without serialisation the second side runs to its end; with it, it blocks.
 */
async function settledOrBlocked(pending: Promise<unknown>, name: string): Promise<"settled" | "blocked"> {
  let settled = false;
  pending.then(() => (settled = true), () => (settled = true));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (settled) return "settled";
    const [{ n }] = await observer<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where application_name = ${name} and wait_event_type = 'Lock'`;
    if (n > 0) return "blocked";
    await pause(20);
  }
  throw new Error(`${name} neither finished nor waited on a lock within 15 s`);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A gate: one side waits on `wait` until the other calls `open`. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

function startSession(sql: postgres.Sql | postgres.TransactionSql, userId: string, sid: string) {
  return sql`
    select session_id from sessionguard.start_session(
      ${userId}, ${sid}, 'race', null, null, 3600, 86400)`;
}

function applyEvent(
  sql: postgres.Sql | postgres.TransactionSql,
  type: string,
  sid: string | null,
  userId: string | null,
) {
  return sql`
    select result, revoked from sessionguard.apply_clerk_event(
      ${"msg_" + clerkId("sess")}, ${type}, ${sid}, ${userId})`;
}

async function liveFamilies(where: { sid?: string; userId?: string }): Promise<number> {
  const [{ n }] = await webhookDb<{ n: number }[]>`
    select count(*)::int as n from sessionguard.families
    where revoked_at is null
      and (clerk_session_id = ${where.sid ?? null} or user_id = ${where.userId ?? null})`;
  return n;
}

/** The outcome of a promise without throwing: its value or its SQLSTATE. */
async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: string }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, code: String((error as { code?: unknown }).code) };
  }
}

describe("Clerk webhook against /start, on two connections", () => {
  it("a start while a session.ended webhook is uncommitted waits for it, then is refused", async () => {
    const userId = clerkId("user");
    const sid = clerkId("sess");
    const held = gate();
    const inserted = gate();
    const webhook = webhookDb.begin(async (tx) => {
      await applyEvent(tx, "session.ended", sid, null);
      inserted.open();
      await held.wait;
    });
    await inserted.wait; // the webhook has inserted the ending and holds its transaction open
    const start = settle(startSession(startDb, userId, sid));
    await settledOrBlocked(start, "race-start");
    held.open();
    await webhook;
    const started = await start;
    expect(started).toEqual({ ok: false, code: "28000" });
    expect(await liveFamilies({ sid })).toBe(0);
  });

  it("a session.ended webhook while a start is uncommitted waits for it, then revokes the new family", async () => {
    const userId = clerkId("user");
    const sid = clerkId("sess");
    const held = gate();
    const inserted = gate();
    const start = startDb.begin(async (tx) => {
      await startSession(tx, userId, sid);
      inserted.open();
      await held.wait;
    });
    await inserted.wait; // the family is inserted, not yet committed
    const webhook = settle(applyEvent(webhookDb, "session.ended", sid, null));
    await settledOrBlocked(webhook, "race-webhook");
    held.open();
    await start;
    const applied = await webhook;
    expect(applied).toEqual({ ok: true, value: [{ result: "applied", revoked: 1 }] });
    expect(await liveFamilies({ sid })).toBe(0);
  });

  it("a user.deleted webhook while a start of that user is uncommitted waits for it, then revokes it", async () => {
    const userId = clerkId("user");
    const held = gate();
    const inserted = gate();
    const start = startDb.begin(async (tx) => {
      await startSession(tx, userId, clerkId("sess"));
      inserted.open();
      await held.wait;
    });
    await inserted.wait; // the family is inserted, not yet committed
    const webhook = settle(applyEvent(webhookDb, "user.deleted", null, userId));
    await settledOrBlocked(webhook, "race-webhook");
    held.open();
    await start;
    expect(await webhook).toEqual({ ok: true, value: [{ result: "applied", revoked: 1 }] });
    expect(await liveFamilies({ userId })).toBe(0);
  });

  it("starts of one Clerk session do not wait on each other", async () => {
    const userId = clerkId("user");
    const sid = clerkId("sess");
    const held = gate();
    const inserted = gate();
    const first = startDb.begin(async (tx) => {
      await startSession(tx, userId, sid);
      inserted.open();
      await held.wait;
    });
    await inserted.wait;
    // A third connection: the second start must finish while the first is still open.
    const other = connect("race-other");
    try {
      const second = startSession(other, userId, sid);
      expect(await settledOrBlocked(second, "race-other")).toBe("settled");
      await second;
    } finally {
      held.open();
      await first;
      await other.end({ timeout: 1 });
    }
    expect(await liveFamilies({ sid })).toBe(2);
  });
});
