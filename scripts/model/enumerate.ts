/**
 * Every request sequence up to a bound, instead of random simulations: a family bound or
 * not, then up to `length` requests, each one of
 *   who:  the owner (with the bound key), a stranger without a proof, a stranger with a
 *         proof from its own key;
 *   what: generation 0 … length-1 (so the current, the previous, an older and a never
 *         issued one all occur);
 *   when: at the same tick as the request before, or a whole grace window later.
 * The outcomes each must have come from model/server.pml itself (every sequence judged
 * by spin in one scripted run), and scripts/model/replay.ts replays them on the SQL. A
 * sequence stops growing once the family is revoked (every later answer is `revoked`).
 */
import { runScript, type Workspace } from "./spin.ts";
import { ATTACKER, parseTrace, type Step, type Trace } from "./trace.ts";

/** One request of a sequence: choice number c (0 … CHOICES-1) decoded. */
interface Choice {
  who: number;
  key: boolean;
  ownKey: boolean;
  g: number;
  /** Ticks after the request before (0, or a grace window). */
  wait: number;
}

/** Actors: the owner with the key, a stranger without a proof, a stranger with its own key. */
const ACTORS = [
  { who: 0, key: true, ownKey: false },
  { who: ATTACKER, key: false, ownKey: false },
  { who: ATTACKER, key: false, ownKey: true },
];

/** Choice c, as the Promela loop below decodes it too: actor, generation, wait. */
function choice(c: number, length: number, grace: number): Choice {
  const perActor = length * 2;
  const actor = ACTORS[Math.floor(c / perActor)];
  return { ...actor, g: Math.floor((c % perActor) / 2), wait: c % 2 === 0 ? 0 : grace };
}

/** The sequences in the order the Promela loop visits them: bound, length, index. */
function sequences(length: number, grace: number): { bound: boolean; steps: Choice[] }[] {
  const choices = ACTORS.length * length * 2;
  const out: { bound: boolean; steps: Choice[] }[] = [];
  for (const bound of [false, true]) {
    for (let n = 1; n <= length; n++) {
      for (let idx = 0; idx < choices ** n; idx++) {
        const steps: Choice[] = [];
        for (let k = 0, rest = idx; k < n; k++, rest = Math.floor(rest / choices)) {
          steps.push(choice(rest % choices, length, grace));
        }
        out.push({ bound, steps });
      }
    }
  }
  return out;
}

/**
 * Every sequence up to `length` requests, judged by model/server.pml (one spin run), with
 * sequences cut after the request that revoked the family. `grace` in ticks (1 tick = 1 s).
 */
export async function enumerate(ws: Workspace, length: number, grace: number): Promise<Trace[]> {
  const raw = sequences(length, grace);
  const choices = ACTORS.length * length * 2;
  // One loop in Promela (a script with every sequence written out grows too slow for spin
  // to read): it visits the sequences in the order sequences() lists them.
  const script = `#define GRACE ${grace}
#include "server.pml"
init {
  byte res, ans, b, n, k, c, g, key, who;
  int idx, rest, total, t;
  for (b : 0 .. 1) {
    for (n : 1 .. ${length}) {
      total = 1;
      for (k : 1 .. n) { total = total * ${choices} }
      for (idx : 0 .. total - 1) {
        gen = 0; rot_t = 0; revoked = false; presented = false; now = 0; bound = b; t = 0; rest = idx;
        printf("SG start bound=%d grace=%d\\n", bound, GRACE);
        for (k : 1 .. n) {
          c = rest % ${choices}; rest = rest / ${choices};
          who = (c / ${length * 2} == 0 -> 0 : ${ATTACKER}); key = (c / ${length * 2} == 0 -> 1 : 0);
          g = (c % ${length * 2}) / 2;
          t = t + (c % 2) * GRACE; now = t;
          decide(g, key, res, ans);
          printf("SG t=%d who=%d g=%d key=%d res=%d ans=%d gen=%d rev=%d\\n", now, who, g, key, res, ans, gen, revoked)
        }
      }
    }
  }
}
`;
  const lines = await runScript(ws, script);
  // Split the output at each "SG start".
  const traces: Trace[] = [];
  let current: string[] = [];
  const flush = () => {
    if (current.length === 0) return;
    const i = traces.length;
    const trace = parseTrace(`enumerated sequence ${i}`, current);
    const ownKeys = raw[i].steps.map((c) => c.ownKey);
    trace.steps = trace.steps.map((s, k): Step => ({ ...s, ownKey: ownKeys[k] }));
    traces.push(trace);
    current = [];
  };
  for (const line of lines) {
    if (line.startsWith("SG start")) flush();
    current.push(line);
  }
  flush();
  if (traces.length !== raw.length) throw new Error(`enumerate: ${raw.length} sequences, spin judged ${traces.length}`);
  // A request that changed nothing but the clock (never issued; a stranger's older token,
  // which does not mark the current one presented; anything after the revocation) is kept
  // only as a sequence's last: with it in the middle the sequence repeats a shorter one.
  const seen = new Set<string>();
  return traces.filter((trace) => {
    const idle = trace.steps.slice(0, -1).some((s, k) => {
      const before = k === 0 ? 0 : trace.steps[k - 1].gen;
      return s.result === "not_found" || s.result === "revoked" || (s.result === "dpop_mismatch" && s.g !== before);
    });
    if (idle) return false;
    const key = JSON.stringify([trace.bound, trace.steps]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
