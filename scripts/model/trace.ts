/**
 * Traces: what the protocol model's server judged, request by request, as spin printed it
 * ("SG ..." lines of model/session.pml), and the same requests re-judged by the reference
 * server (model/server.pml without mutations) so that a mutant's counterexample can be
 * replayed against the real code with the outcomes the real protocol must give.
 */
import { runScript, type Workspace } from "./spin.ts";

/** refresh_session's results, by the model's numbers (model/server.pml R_*). */
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
  /**
   * Without the bound key: whether the request carries a proof from a key of its own (a
   * stranger's). Unset: the replay alternates (scripts/model/replay.ts).
   */
  ownKey?: boolean;
  result: Result;
  /** Generation of the successor handed out (rotated, grace), else null. */
  answer: number | null;
  /** The family afterwards. */
  gen: number;
  revoked: boolean;
}

/**
 * What the tabs and the network did ("SG ev ..." lines), and each request the server
 * judged, in order: the schedule tests/unit/sdk/model-replay.test.ts replays on the SDK.
 */
export type TraceEvent =
  | { kind: "start"; tab: number; t: number }
  /** mutant_read_before_lock: the tab reads its token before it takes the lock. */
  | { kind: "want"; tab: number; t: number }
  | { kind: "send"; tab: number; g: number; t: number }
  | { kind: "expire"; tab: number; t: number }
  | { kind: "close"; tab: number; t: number }
  | { kind: "tick"; t: number }
  /** A request lost on its way to the server. */
  | { kind: "drop"; who: number; g: number }
  /** The answer to the request just judged reached its tab, or was lost. */
  | { kind: "got" | "lost"; tab: number }
  | { kind: "judged"; step: Step };

export interface Trace {
  /** Where it came from: "sim seed 17", "counterexample mutant_no_grace.pml/honest". */
  source: string;
  /** The family was started bound to the honest device key. */
  bound: boolean;
  /** Grace window, in ticks. */
  grace: number;
  steps: Step[];
  /** Everything, in order (empty for a re-judged trace, which has only the steps). */
  events: TraceEvent[];
}

const START = /^SG start bound=(\d) grace=(\d+)$/;
const STEP = /^SG t=(\d+) who=(\d+) g=(\d+) key=(\d) res=(\d) ans=(\d+) gen=(\d+) rev=(\d)$/;
const EVENT = /^SG ev (\w+)((?: \w+=\d+)*)$/;

function parseEvent(source: string, line: string): TraceEvent {
  const m = EVENT.exec(line);
  if (!m) throw new Error(`${source}: cannot read ${JSON.stringify(line)}`);
  const f = Object.fromEntries([...m[2].matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1], Number(x[2])]));
  switch (m[1]) {
    case "start":
    case "want":
    case "expire":
    case "close":
      return { kind: m[1], tab: f.tab, t: f.t };
    case "send":
      return { kind: "send", tab: f.tab, g: f.g, t: f.t };
    case "tick":
      return { kind: "tick", t: f.t };
    case "drop":
      return { kind: "drop", who: f.who, g: f.g };
    case "got":
    case "lost":
      return { kind: m[1], tab: f.tab };
  }
  throw new Error(`${source}: unknown event in ${JSON.stringify(line)}`);
}

/** Parses spin's "SG" lines into a trace. */
export function parseTrace(source: string, lines: readonly string[]): Trace {
  const start = lines.length > 0 ? START.exec(lines[0]) : null;
  if (!start) throw new Error(`${source}: no "SG start" line`);
  const events: TraceEvent[] = [];
  const steps: Step[] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith("SG ev ")) {
      events.push(parseEvent(source, line));
      continue;
    }
    const m = STEP.exec(line);
    if (!m) throw new Error(`${source}: cannot read ${JSON.stringify(line)}`);
    const result = RESULTS[Number(m[5])];
    if (!result) throw new Error(`${source}: result ${m[5]} in ${JSON.stringify(line)}`);
    const answered = result === "rotated" || result === "grace";
    const step: Step = {
      t: Number(m[1]),
      who: Number(m[2]),
      g: Number(m[3]),
      key: m[4] === "1",
      result,
      answer: answered ? Number(m[6]) : null,
      gen: Number(m[7]),
      revoked: m[8] === "1",
    };
    steps.push(step);
    events.push({ kind: "judged", step });
  }
  return { source, bound: start[1] === "1", grace: Number(start[2]), steps, events };
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
  return { ...parseTrace(`${trace.source} (re-judged)`, lines), source: trace.source, events: [] };
}

/** A step in words, for failure messages. */
export function describeStep(step: Step): string {
  const who = step.who === ATTACKER ? "attacker" : `tab ${step.who}`;
  const answer = step.answer === null ? "" : ` -> generation ${step.answer}`;
  return `t=${step.t} ${who} presents generation ${step.g}${step.key ? " with the key" : ""}: ${step.result}${answer}` +
    ` (family at ${step.gen}${step.revoked ? ", revoked" : ""})`;
}
