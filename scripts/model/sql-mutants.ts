/**
 * Controls that really break the code: the model's mutations carried into the real
 * refresh_session (its text as the database holds it, so they follow the migration), each
 * installed as a private copy in the connection's pg_temp schema, where nothing else can
 * call it. A control is caught when replaying the mutant model's counterexample on the
 * mutated SQL gives the mutant's outcomes, and those part ways with what the real protocol
 * must answer (the trace re-judged by the unmutated server model). Every control is
 * deterministic: sequential requests at fixed times, or, for the row lock, two requests
 * held at a barrier until both have read the family.
 *
 * Used by tests/integration/model/sql-mutants.test.ts and by `npm run soak`.
 */
import { randomBytes } from "node:crypto";
import type postgres from "postgres";
import { replay, replayPolicy, type Rotate } from "./replay.ts";
import { compile, type Workspace } from "./spin.ts";
import { parseTrace, rejudge, type Trace } from "./trace.ts";

const SIGNATURE = "sessionguard.refresh_session(uuid, bigint, jsonb, inet, text, text, text, timestamptz)";

/** Replaces `from` (which must occur exactly once) with `to`. */
function swap(def: string, from: string, to: string): string {
  const at = def.indexOf(from);
  if (at < 0 || def.indexOf(from, at + 1) >= 0) {
    throw new Error(`refresh_session no longer reads ${JSON.stringify(from)}: update scripts/model/sql-mutants.ts`);
  }
  return def.slice(0, at) + to + def.slice(at + from.length);
}

/** The previous generation inside the window (P3), or bound and its successor never presented (P14). */
const PREVIOUS = "p_generation = v.generation - 1";
const WINDOW = "(v_grace > 0 and p_now < v.rotated_at + make_interval(secs => v_grace))";
const LOST_ANSWER = "(v.dpop_jkt is not null and not v.current_presented)";
const GRACE_TEST = `and not (${PREVIOUS}\n              and (${WINDOW}\n                   or ${LOST_ANSWER})) then`;

/** A mutation of refresh_session and the model mutant it carries over. */
export interface SqlMutant {
  /** The model mutant (model/<file>) whose counterexample is the control's witness. */
  model: string;
  /** The property that mutant violates. */
  property: string;
  mutate(def: string): string;
  /**
   * Another guard of the real schema that refuses the mutated function's write before it
   * happens (so the SQL cannot answer as the mutant model does): the words of its error.
   */
  stoppedBy?: string;
}

export const SQL_MUTANTS: readonly SqlMutant[] = [
  {
    model: "mutant_no_grace.pml",
    property: "honest",
    // Neither grace: every spent generation is reuse.
    mutate: (def) => swap(def, GRACE_TEST, "then"),
  },
  {
    model: "mutant_no_p14.pml",
    property: "honest",
    // A bound family's lost answer gets only the window, as in 0.1.0.
    mutate: (def) => swap(def, `\n                   or ${LOST_ANSWER}`, ""),
  },
  {
    model: "mutant_grace_any_older.pml",
    property: "p1p2",
    // The window covers any older generation; P14 still only the previous one.
    mutate: (def) =>
      swap(def, GRACE_TEST, `and not ((p_generation < v.generation and ${WINDOW})\n                   or (${PREVIOUS} and ${LOST_ANSWER})) then`),
  },
  {
    model: "mutant_grace_forever.pml",
    property: "p3",
    mutate: (def) => swap(def, WINDOW, "(v_grace > 0)"),
  },
  {
    model: "mutant_revoked_rotates.pml",
    property: "revoked_final",
    mutate: (def) => swap(def, "if v.revoked_at is not null then", "if v.revoked_at is not null and p_generation <> v.generation then"),
    // families_guard (…000110_table_triggers.sql) keeps revocation final.
    stoppedBy: "is revoked and cannot change",
  },
  {
    model: "mutant_key_late.pml",
    property: "dpop",
    // The key check lets through what a grace branch would answer: as if it came after them.
    mutate: (def) =>
      swap(def, "  if v_stranger then", `  if v_stranger and not (${PREVIOUS}\n              and (${WINDOW}\n                   or ${LOST_ANSWER})) then`),
  },
];

/**
 * Not a model mutant (the model's key is one bit): any proof's key passes for the bound
 * one. Caught by the enumerated replay (scripts/model/enumerate.ts), whose requests come
 * from the owner's key, no key, and a stranger's own key.
 */
export const ANY_KEY_MUTANT = (def: string) =>
  swap(def, "v_stranger := v.dpop_jkt is not null and v.dpop_jkt is distinct from p_dpop_jkt;",
    "v_stranger := v.dpop_jkt is not null and p_dpop_jkt is null;");

/** A private copy of refresh_session named `name` in this connection's pg_temp. */
export async function install(sql: postgres.ReservedSql | postgres.Sql, name: string, mutate: (def: string) => string) {
  const [{ def }] = await sql<{ def: string }[]>`select pg_get_functiondef(${SIGNATURE}::regprocedure) as def`;
  const mutated = swap(mutate(def), "CREATE OR REPLACE FUNCTION sessionguard.refresh_session(", `CREATE FUNCTION pg_temp.${name}(`);
  if (mutated === def) throw new Error(`${name}: the mutation changed nothing`);
  await sql.unsafe(mutated);
}

export async function uninstall(sql: postgres.ReservedSql | postgres.Sql, name: string) {
  await sql.unsafe(`drop function if exists pg_temp.${name}`);
}

/** Calls pg_temp.<name> as replay() calls refresh_session. */
export function callTemp(name: string): Rotate {
  return async (sql, a) => {
    const [row] = await sql.unsafe(
      `select result, generation::int as generation from pg_temp.${name}(
         $1::uuid, $2::bigint, $3::jsonb, '203.0.113.9'::inet, 'model replay', $4::text, $5::text, $6::timestamptz)`,
      [a.sessionId, a.generation, replayPolicy(a.reuseGrace) as never, a.dpopJkt,
        a.dpopJkt === null ? null : randomBytes(12).toString("hex"), a.now.toISOString()],
    );
    return { result: row.result, generation: row.generation };
  };
}

/** How one control went. */
export interface ControlResult {
  name: string;
  /** The mutated SQL gave an answer the real protocol must not give. */
  caught: boolean;
  /** The mutated SQL answered exactly as the mutant model did. */
  matchesMutant: boolean;
  /** SqlMutant.stoppedBy, when that guard did stop it. */
  stoppedBy?: string;
  detail: string;
}

/** The witness of a model mutant: its counterexample, and the same requests re-judged. */
async function witness(ws: Workspace, model: string, property: string): Promise<{ mutant: Trace; reference: Trace }> {
  const result = await (await compile(ws, model, { quick: true })).check(property);
  if (!result.violated) throw new Error(`${model} no longer violates ${property}`);
  const mutant = parseTrace(`${model}/${property}`, result.trail);
  return { mutant, reference: await rejudge(ws, mutant) };
}

/** Runs every sequential control on one reserved connection. */
export async function sequentialControls(sql: postgres.Sql, ws: Workspace): Promise<ControlResult[]> {
  const conn = await sql.reserve();
  const out: ControlResult[] = [];
  try {
    for (const [i, m] of SQL_MUTANTS.entries()) {
      const name = `sg_control_${i}_${randomBytes(4).toString("hex")}`;
      await install(conn, name, m.mutate);
      const { mutant, reference } = await witness(ws, m.model, m.property);
      const rotate = callTemp(name);
      const divergence = await replay(conn as unknown as postgres.Sql, reference, { rotate });
      const asMutant = await replay(conn as unknown as postgres.Sql, mutant, { rotate });
      await uninstall(conn, name);
      const stopped = m.stoppedBy !== undefined && divergence?.actual.includes(m.stoppedBy);
      out.push({
        name: `${m.model} carried into refresh_session`,
        caught: divergence !== null,
        matchesMutant: asMutant === null,
        ...(stopped ? { stoppedBy: m.stoppedBy } : {}),
        detail: divergence
          ? `step ${divergence.step}: the protocol says "${divergence.expected}", the mutated SQL "${divergence.actual}"`
          : "the mutated SQL answered every request as the real protocol must",
      });
    }
  } finally {
    conn.release();
  }
  return out;
}

/** Lock key of the barrier the race control holds its two requests at. */
const BARRIER = 4_711_001;

/**
 * Two requests with the same token, held at a barrier right after each has read the
 * family, then let go together: the real refresh_session, copied once as it is and once
 * with its `for update` removed (MUTANT_SPLIT: read, then write). With the row lock the
 * second reads only after the first committed and gets the grace answer; without it both
 * read generation 0 and both rotate.
 */
export async function raceControls(sql: postgres.Sql, ws: Workspace): Promise<ControlResult[]> {
  const variants: { name: string; split: boolean }[] = [
    { name: "refresh_session read under its row lock, two requests held at a barrier (baseline)", split: false },
    { name: "mutant_split_rotation.pml carried into refresh_session: `for update` removed", split: true },
  ];
  const reference = await rejudge(ws, {
    source: "race",
    bound: false,
    grace: 3,
    events: [],
    steps: [0, 1].map((who) => ({ t: 0, who, g: 0, key: true, result: "rotated", answer: 1, gen: 1, revoked: false })),
  });
  const expected = reference.steps.map((s) => `${s.result} ${s.answer}`).sort().join(", ") + `; generation ${reference.steps[1].gen}`;
  const out: ControlResult[] = [];
  for (const variant of variants) {
    const mutate = (def: string) =>
      swap(def, "where f.id = p_session_id for update;",
        `where f.id = p_session_id${variant.split ? "" : " for update"};\n  perform pg_advisory_xact_lock_shared(${BARRIER});`);
    const [holder, a, b] = [await sql.reserve(), await sql.reserve(), await sql.reserve()];
    try {
      const name = `sg_race_${randomBytes(4).toString("hex")}`;
      await install(a, name, mutate);
      await install(b, name, mutate);
      const base = new Date(Math.floor(Date.now() / 1000) * 1000);
      const userId = `user_model_${randomBytes(8).toString("hex")}`;
      const [family] = await sql`
        select session_id from sessionguard.start_session(${userId}, null, 'model', 'model race',
          null, 2592000, 5184000, null, ${base}::timestamptz)`;
      const pids = [(await a`select pg_backend_pid() as pid`)[0].pid, (await b`select pg_backend_pid() as pid`)[0].pid];
      await holder`select pg_advisory_lock(${BARRIER})`;
      const call = (conn: postgres.ReservedSql) =>
        callTemp(name)(conn as unknown as postgres.Sql, { sessionId: family.session_id, generation: 0, reuseGrace: 3, dpopJkt: null, now: base });
      const answers = Promise.all([call(a), call(b)]);
      // Both wait (at the barrier, or one of them on the row lock) before the barrier opens.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const [{ waiting }] = await sql`
          select count(*)::int as waiting from pg_stat_activity
          where pid = any(${pids}::int[]) and wait_event_type = 'Lock'`;
        if (waiting === 2) break;
        if (Date.now() > deadline) throw new Error(`${variant.name}: the two requests never both waited`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await holder`select pg_advisory_unlock(${BARRIER})`;
      const got = await answers;
      await uninstall(a, name);
      await uninstall(b, name);
      const [row] = await sql`select generation::int as generation from sessionguard.families where id = ${family.session_id}::uuid`;
      const actual = got.map((r) => `${r.result} ${r.generation}`).sort().join(", ") + `; generation ${row.generation}`;
      const diverged = actual !== expected;
      out.push({
        name: variant.name,
        caught: diverged,
        matchesMutant: variant.split ? diverged : !diverged,
        detail: `the protocol says "${expected}", the SQL answered "${actual}"`,
      });
    } finally {
      holder.release();
      a.release();
      b.release();
    }
  }
  return out;
}
