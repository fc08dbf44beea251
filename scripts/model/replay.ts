/**
 * Replays a model trace against the real SQL API on Postgres: a family started with
 * sessionguard.start_session, then every request of the trace through
 * sessionguard.refresh_session (what the edge function calls) at the trace's time (tick t =
 * t seconds after the start), with the trace's token generation and device key. After
 * every step the answer and the family row must be what the model said.
 *
 * `rotate` replaces the call for the controls (scripts/model/sql-mutants.ts), which run a
 * mutated copy of refresh_session.
 */
import { randomBytes } from "node:crypto";
import type postgres from "postgres";
import { ATTACKER, describeStep, type Step, type Trace } from "./trace.ts";

/** A request as the replay sends it. */
export interface RotateArgs {
  sessionId: string;
  generation: number;
  reuseGrace: number;
  /** Thumbprint of the key the request's proof is signed with, or null for no proof. */
  dpopJkt: string | null;
  now: Date;
}

export type Rotate = (sql: postgres.Sql, args: RotateArgs) => Promise<{ result: string; generation: number | null }>;

/**
 * The policy the replays pass to refresh_session (the route builds the same object from its
 * settings): no budgets, so every request reaches the decision the model describes.
 */
export function replayPolicy(reuseGrace: number): Record<string, unknown> {
  return {
    idle_timeout: 2592000,
    reuse_grace: reuseGrace,
    theft_scope: "family",
    dpop_lifetime: 300,
    dpop_mismatch: "refuse",
    rate_limit: null,
    ip_rate_limit: null,
  };
}

/** The real API: refresh_session without rate limits, with a fresh proof id per request. */
export const refreshSession: Rotate = async (sql, a) => {
  const [row] = await sql`
    select result, generation::int as generation from sessionguard.refresh_session(
      p_session_id => ${a.sessionId}::uuid, p_generation => ${a.generation}::bigint,
      p_policy => ${sql.json(replayPolicy(a.reuseGrace) as never)}::jsonb,
      p_ip => '203.0.113.9'::inet, p_user_agent => 'model replay',
      p_dpop_jkt => ${a.dpopJkt}, p_dpop_jti => ${a.dpopJkt === null ? null : randomBytes(12).toString("hex")},
      p_now => ${a.now}::timestamptz)`;
  return { result: row.result, generation: row.generation };
};

/** Where the real code and the model part ways. */
export interface Divergence {
  step: number;
  expected: string;
  actual: string;
}

export const thumbprint = () => randomBytes(32).toString("base64url");

/**
 * Replays `trace` on a new family; returns the first divergence, or null when every
 * step matched. `base` is the family's start time (the trace's tick 0).
 */
export async function replay(
  sql: postgres.Sql,
  trace: Trace,
  options: { rotate?: Rotate; base?: Date } = {},
): Promise<Divergence | null> {
  const rotate = options.rotate ?? refreshSession;
  const base = options.base ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  const deviceKey = thumbprint();
  const attackerKey = thumbprint();
  const userId = `user_model_${randomBytes(8).toString("hex")}`;
  const [family] = await sql`
    select session_id from sessionguard.start_session(${userId}, null, 'model', 'model replay',
      '203.0.113.9'::inet, 2592000, 5184000, ${trace.bound ? deviceKey : null}, ${base}::timestamptz)`;
  const sessionId: string = family.session_id;

  for (const [index, step] of trace.steps.entries()) {
    // The owner signs with the bound key; the attacker has none: no proof, or one of its own.
    const strangerKey = step.ownKey ?? (step.who === ATTACKER && index % 2 === 1);
    const jkt = step.key ? (trace.bound ? deviceKey : null) : strangerKey ? attackerKey : null;
    let answer: { result: string; generation: number | null };
    try {
      answer = await rotate(sql, {
        sessionId,
        generation: step.g,
        reuseGrace: trace.grace,
        dpopJkt: jkt,
        now: new Date(base.getTime() + step.t * 1000),
      });
    } catch (err) {
      return { step: index, expected: describeStep(step), actual: `raised: ${(err as Error).message}` };
    }
    const [row] = await sql`
      select generation::int as generation, revoked_at is not null as revoked
      from sessionguard.families where id = ${sessionId}::uuid`;
    const answered = answer.result === "rotated" || answer.result === "grace" ? answer.generation : null;
    const actual: Step = { ...step, result: answer.result as Step["result"], answer: answered, gen: row.generation, revoked: row.revoked };
    if (describeStep(actual) !== describeStep(step)) {
      return { step: index, expected: describeStep(step), actual: describeStep(actual) };
    }
  }
  return null;
}
