/**
 * The SDK tied to the protocol model: the model's client traces (model/session.pml, small
 * numbers) replayed on two real SDK clients that share storage, a key store and a lock
 * (tests/support/sdk/model-replay.ts). On the model's own traces the SDK does what the
 * model's client does, request for request, and `honest` holds; on the counterexample of
 * each client mutant of the model, the same mutation carried into the SDK's code
 * (tests/support/sdk/sdk-mutants.ts) is cut off, and the real SDK on the same schedule is not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as realSdk from "../../../packages/client/src/index.ts";
import { compile, simulate, type Workspace, workspace } from "../../../scripts/model/spin.ts";
import { parseTrace, type Trace } from "../../../scripts/model/trace.ts";
import { replayOnSdk } from "../../support/sdk/model-replay.ts";
import { loadMutant, SDK_MUTANTS } from "../../support/sdk/sdk-mutants.ts";

const SIMULATIONS = Number(process.env.SG_MODEL_SDK_TRACES ?? 40);
const FIRST_SEED = Number(process.env.SG_MODEL_SEED ?? (Date.now() % 1_000_000)) + 700_000;

let ws: Workspace;
beforeAll(() => {
  ws = workspace();
});
afterAll(() => ws?.close());

/** The counterexample spin finds for `property` in model file `file`. */
async function counterexample(file: string, property: string): Promise<Trace> {
  const result = await (await compile(ws, file, { quick: true })).check(property);
  expect(result.violated, `${file}: ${property} must fail`).toBe(true);
  return parseTrace(`${file}/${property}`, result.trail);
}

describe("the model's client traces replayed on the real SDK", () => {
  it(`agrees with the model request for request on ${SIMULATIONS} simulations (first seed ${FIRST_SEED}), and honest holds`, async () => {
    const kinds = new Set<string>();
    const failures: string[] = [];
    for (let i = 0; i < SIMULATIONS; i++) {
      const trace = parseTrace(`simulation seed ${FIRST_SEED + i}`, await simulate(ws, FIRST_SEED + i));
      for (const ev of trace.events) kinds.add(ev.kind === "judged" ? ev.step.result : ev.kind);
      const out = await replayOnSdk(trace, realSdk);
      if (out.divergences.length || !out.honest) {
        failures.push(`${trace.source} (${trace.bound ? "bound" : "unbound"}): ${out.divergences.join("; ")}${out.honest ? "" : " honest VIOLATED"}`);
      }
    }
    expect(failures).toEqual([]);
    // The sample reached the situations that matter.
    expect([...kinds]).toEqual(expect.arrayContaining(["send", "expire", "rotated", "grace", "lost", "tick"]));
  }, 300_000);

  it("reproduces the model's known edges step for step (the cut is the edge's, excused as the model excuses it)", async () => {
    for (const edge of ["edge_unbound_lost", "edge_overtaken", "edge_presented"]) {
      const trace = await counterexample("session.pml", edge);
      const out = await replayOnSdk(trace, realSdk);
      expect({ edge, divergences: out.divergences, cut: out.cut, honest: out.honest })
        .toEqual({ edge, divergences: [], cut: true, honest: true });
    }
  }, 300_000);

  for (const mutant of SDK_MUTANTS) {
    it(`catches the SDK mutant ${mutant.name} (${mutant.what}) with ${mutant.model}'s counterexample`, async () => {
      const trace = await counterexample(mutant.model, "honest");
      const mutated = await replayOnSdk(trace, await loadMutant(mutant, trace.grace * 1000));
      // The mutated SDK does what the mutant model's client did, and is cut off for it.
      expect({ divergences: mutated.divergences, cut: mutated.cut, honest: mutated.honest }, mutated.log.join("\n"))
        .toEqual({ divergences: [], cut: true, honest: false });
      // The real SDK, on the same schedule, is not.
      const real = await replayOnSdk(trace, realSdk);
      expect(real.honest, real.log.join("\n")).toBe(true);
      expect(real.cut).toBe(false);
    }, 300_000);
  }
});
