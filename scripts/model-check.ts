/**
 * The protocol model, checked exhaustively (model/session.pml: two tabs and an attacker):
 *
 *  - every property of the model holds;
 *  - every known edge (ltl edge_*) still fails, as docs/protocol.md and THREATS.md say;
 *  - every mutant (model/*mutant*.pml) violates the property its header names.
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
    const verifier = await compile(ws, model);
    for (const property of properties(model)) {
      const edge = property.startsWith("edge_");
      try {
        const result = await verifier.check(property);
        const detail = `${result.states} states, ${result.seconds.toFixed(1)} s`;
        if (result.violated) counterexamples.push(parseTrace(`${model}/${property}`, result.trail));
        if (edge) {
          record({
            name: `known edge ${property}`,
            ok: result.violated,
            detail: result.violated ? `reproduced (${detail})` : `no longer fails: update docs/protocol.md and THREATS.md (${detail})`,
          });
        } else {
          record({
            name: `property ${property}`,
            ok: !result.violated,
            detail: result.violated ? `VIOLATED: ${result.trail.join(" | ")}` : `holds (${detail})`,
          });
        }
      } catch (err) {
        record({ name: `property ${property}`, ok: false, detail: String(err) });
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
            ? `${mutant.expect} violated, as it must be (${result.trail.length - 1} requests)`
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
