/**
 * Traces: what the protocol model's server judged, request by request, as spin printed it
 * ("SG ..." lines of model/session.pml), and the same requests re-judged by the reference
 * server (model/server.pml without mutations) so that a mutant's counterexample can be
 * replayed against the real code with the outcomes the real protocol must give.
 */
import { runScript, type Workspace } from "./spin.ts";

/** rotate_session's results, by the model's numbers (model/server.pml R_*). */
export const RESULTS = ["", "rotated", "grace", "reused", "revoked", "dpop_mismatch", "not_found"] as const;
export type Result = Exclude<(typeof RESULTS)[number], "">;

/** The model's sender number for the attacker (session.pml ATTACKER). */
export const ATTACKER = 9;

/** One request as the server judged it, and the family right after. */
export interface Step {
  /** Tick at which the server judged it (1 tick = 1 s when replayed). */
  t: number;
  /** Honest tab number, or ATTACKER. */
  who: number;
  /** Generation of the presented refresh token. */
  g: number;
  /** Carries a proof from the device key the family is bound to. */
  key: boolean;
  result: Result;
  /** Generation of the successor handed out (rotated, grace), else null. */
  answer: number | null;
  /** The family afterwards. */
  gen: number;
  revoked: boolean;
}

export interface Trace {
  /** Where it came from: "sim seed 17", "counterexample mutant_no_grace.pml/honest". */
  source: string;
  /** The family was started bound to the honest device key. */
  bound: boolean;
  /** Grace window, in ticks. */
  grace: number;
  steps: Step[];
}

const START = /^SG start bound=(\d) grace=(\d+)$/;
const STEP = /^SG t=(\d+) who=(\d+) g=(\d+) key=(\d) res=(\d) ans=(\d+) gen=(\d+) rev=(\d)$/;

/** Parses spin's "SG" lines into a trace. */
export function parseTrace(source: string, lines: readonly string[]): Trace {
  const start = lines.length > 0 ? START.exec(lines[0]) : null;
  if (!start) throw new Error(`${source}: no "SG start" line`);
  const steps = lines.slice(1).map((line): Step => {
    const m = STEP.exec(line);
    if (!m) throw new Error(`${source}: cannot read ${JSON.stringify(line)}`);
    const result = RESULTS[Number(m[5])];
    if (!result) throw new Error(`${source}: result ${m[5]} in ${JSON.stringify(line)}`);
    const answered = result === "rotated" || result === "grace";
    return {
      t: Number(m[1]),
      who: Number(m[2]),
      g: Number(m[3]),
      key: m[4] === "1",
      result,
      answer: answered ? Number(m[6]) : null,
      gen: Number(m[7]),
      revoked: m[8] === "1",
    };
  });
  return { source, bound: start[1] === "1", grace: Number(start[2]), steps };
}

/**
 * The same requests (time, token, key) judged by the reference server, model/server.pml
 * without any mutation: the outcomes the real protocol must give for them.
 */
export async function rejudge(ws: Workspace, trace: Trace): Promise<Trace> {
  const calls = trace.steps.map((step) =>
    `    now = ${step.t}; decide(${step.g}, ${step.key ? 1 : 0}, res, ans);\n` +
    `    printf("SG t=%d who=${step.who} g=${step.g} key=${step.key ? 1 : 0} res=%d ans=%d gen=%d rev=%d\\n", now, res, ans, gen, revoked);`
  );
  const script = [
    `#define GRACE ${trace.grace}`,
    `#include "server.pml"`,
    "init {",
    "  byte res, ans;",
    "  atomic {",
    `    bound = ${trace.bound ? 1 : 0};`,
    `    printf("SG start bound=%d grace=%d\\n", bound, GRACE);`,
    ...calls,
    "  }",
    "}",
    "",
  ].join("\n");
  const lines = await runScript(ws, script);
  return { ...parseTrace(`${trace.source} (re-judged)`, lines), source: trace.source };
}

/** A step in words, for failure messages. */
export function describeStep(step: Step): string {
  const who = step.who === ATTACKER ? "attacker" : `tab ${step.who}`;
  const answer = step.answer === null ? "" : ` -> generation ${step.answer}`;
  return `t=${step.t} ${who} presents generation ${step.g}${step.key ? " with the key" : ""}: ${step.result}${answer}` +
    ` (family at ${step.gen}${step.revoked ? ", revoked" : ""})`;
}
