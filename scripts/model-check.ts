/**
 * The protocol model, checked exhaustively (model/session.pml: two tabs and an attacker):
 *
 *  - every property of the model holds, with the small numbers and again with the SDK's
 *    shipped ones (-DSHIPPED: packages/client/src/client-options.ts's defaults, 1 tick = 1 s);
 *  - every known edge (ltl edge_*) still fails, as docs/protocol.md and THREATS.md say;
 *  - every mutant (model/*mutant*.pml) violates the property its header names.
 *
 * Fails closed: a search that did not complete, hit its memory bound or explored 0 states
 * is a failure (scripts/model/spin.ts readVerdict), never "holds".
 *
 * Prints one line per check and ends with "N passed, N failed" (scripts/test.sh counts it);
 * exits non-zero when anything failed. `--export FILE` writes every counterexample as a
 * trace (JSON) for scripts/model-replay.ts.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { compile, modelFiles, properties, workspace } from "./model/spin.ts";
import { parseTrace, type Trace } from "./model/trace.ts";

const { values: args } = parseArgs({ options: { export: { type: "string" } } });

/**
 * The model's numbers: the small ones (exhaustive over a richer run: 3 refreshes, 2 thefts,
 * 6 ticks), and the SDK's shipped ones (timeout 5 s, budget 8 s, 4 attempts, grace 10 s;
 * 2 refreshes, 1 theft, 14 ticks: model/session.pml SHIPPED says how they are scaled).
 */
const CONFIGS = [
  { name: "small", defines: [] as string[], edges: null },
  // The unbound edge must stay at the shipped numbers too; the others need more refreshes
  // than the shipped run has (docs/protocol.md).
  { name: "shipped", defines: ["SHIPPED"], edges: ["edge_unbound_lost"] },
];

interface Outcome {
  name: string;
  ok: boolean;
  detail: string;
}

async function main() {
  const began = performance.now();
  const ws = workspace();
  const outcomes: Outcome[] = [];
  const counterexamples: Trace[] = [];
  const record = (outcome: Outcome) => {
    outcomes.push(outcome);
    console.log(`${outcome.ok ? "ok  " : "FAIL"} ${outcome.name}: ${outcome.detail}`);
  };
  try {
    const { model, mutants } = modelFiles();
    for (const config of CONFIGS) {
      const verifier = await compile(ws, model, { defines: config.defines });
      const tag = config.defines.length ? ` [${config.name}]` : "";
      for (const property of properties(model)) {
        const edge = property.startsWith("edge_");
        if (edge && config.edges && !config.edges.includes(property)) continue;
        try {
          const result = await verifier.check(property);
          const detail = `${result.states} states, ${result.seconds.toFixed(1)} s`;
          if (result.violated && !tag) counterexamples.push(parseTrace(`${model}/${property}`, result.trail));
          if (edge) {
            record({
              name: `known edge ${property}${tag}`,
              ok: result.violated,
              detail: result.violated ? `reproduced (${detail})` : `no longer fails: update docs/protocol.md and THREATS.md (${detail})`,
            });
          } else {
            record({
              name: `property ${property}${tag}`,
              ok: !result.violated,
              detail: result.violated ? `VIOLATED: ${result.trail.join(" | ")}` : `holds (${detail})`,
            });
          }
        } catch (err) {
          record({ name: `property ${property}${tag}`, ok: false, detail: String(err) });
        }
      }
    }
    for (const mutant of mutants) {
      try {
        const result = await (await compile(ws, mutant.file, { quick: true })).check(mutant.expect);
        if (result.violated) counterexamples.push(parseTrace(`${mutant.file}/${mutant.expect}`, result.trail));
        record({
          name: `mutant ${mutant.file}`,
          ok: result.violated,
          detail: result.violated
            ? `${mutant.expect} violated, as it must be (${result.trail.filter((l) => !l.startsWith("SG ev")).length - 1} requests)`
            : `${mutant.expect} NOT violated: the check cannot tell this mutation apart`,
        });
      } catch (err) {
        record({ name: `mutant ${mutant.file}`, ok: false, detail: String(err) });
      }
    }
  } catch (err) {
    record({ name: "spin", ok: false, detail: String(err) });
  } finally {
    ws.close();
  }
  if (args.export) writeFileSync(args.export, JSON.stringify(counterexamples, null, 1));
  const passed = outcomes.filter((o) => o.ok).length;
  console.log(`model checked in ${((performance.now() - began) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${outcomes.length - passed} failed`);
  process.exitCode = passed === outcomes.length ? 0 : 1;
}

await main();
