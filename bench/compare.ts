/**
 * Before and after a change to the session function, with scenario 11's own
 * figure: CPU per refresh against the select-1 baseline, in alternating rounds
 * at 32 connections on one throwaway database.
 *
 *   npx tsx bench/compare.ts <before-checkout> [rounds=6] [seconds=6]
 *
 * `<before-checkout>` is a second copy of the repository (e.g. `git archive
 * <commit> | tar -x -C DIR` and a `node_modules` link); "after" is this one.
 * Each round runs the three servers one at a time, the order rotated every
 * round; the report is the median of each and of the per-round ratios. CPU,
 * not wall time: on a shared machine the wall time is mostly waiting for a core.
 */
import path from "node:path";
import { startBenchDatabase } from "./lib/database.ts";
import { runLoad } from "./lib/load.ts";
import { median, progress } from "./lib/log.ts";
import { type CpuPerRequest, load, type Loaded, startRefresh, startSelectOne } from "./scenarios/overhead.ts";

const [beforeRoot, roundsArg, secondsArg] = process.argv.slice(2);
if (!beforeRoot) {
  console.error("usage: tsx bench/compare.ts <before-checkout> [rounds] [seconds]");
  process.exit(2);
}
const rounds = Number(roundsArg ?? 6);
const seconds = Number(secondsArg ?? 6);

const db = await startBenchDatabase(17);
const servers: Record<"before" | "after" | "baseline", Loaded | undefined> = {
  before: undefined,
  after: undefined,
  baseline: undefined,
};
try {
  servers.before = await startRefresh(db.url, [], path.resolve(beforeRoot));
  servers.after = await startRefresh(db.url);
  servers.baseline = await startSelectOne(db.url);
  for (const s of Object.values(servers)) await runLoad(s!.target, await s!.tokens(8), 8, 3);
  const names = ["before", "after", "baseline"] as const;
  const runs: Record<(typeof names)[number], CpuPerRequest[]> = { before: [], after: [], baseline: [] };
  const ratios: { before: number[]; after: number[]; afterBefore: number[] } = {
    before: [],
    after: [],
    afterBefore: [],
  };
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    const got: Partial<Record<(typeof names)[number], CpuPerRequest>> = {};
    for (const name of order) {
      const { fromUs: _from, toUs: _to, ...cpu } = await load(servers[name]!, seconds);
      got[name] = cpu;
      runs[name].push(cpu);
    }
    ratios.before.push(got.before!.process / got.baseline!.process);
    ratios.after.push(got.after!.process / got.baseline!.process);
    ratios.afterBefore.push(got.after!.process / got.before!.process);
    progress(
      "compare",
      `round ${round + 1}: CPU µs per request (JavaScript thread): before ${got.before!.process.toFixed(0)} (${
        got.before!.mainThread.toFixed(0)
      }), after ${got.after!.process.toFixed(0)} (${got.after!.mainThread.toFixed(0)}), baseline ${
        got.baseline!.process.toFixed(0)
      } (${got.baseline!.mainThread.toFixed(0)})`,
    );
  }
  for (const name of names) {
    const r = runs[name];
    progress(
      "compare",
      `${name.padEnd(8)} median: ${median(r.map((x) => x.process)).toFixed(0)} µs CPU per request, JavaScript thread ${
        median(r.map((x) => x.mainThread)).toFixed(0)
      }, ${median(r.map((x) => x.rps)).toFixed(0)} req/s`,
    );
  }
  progress(
    "compare",
    `median ratios: before ÷ baseline ${median(ratios.before).toFixed(2)}, after ÷ baseline ${
      median(ratios.after).toFixed(2)
    }, after ÷ before ${median(ratios.afterBefore).toFixed(2)}`,
  );
} finally {
  await Promise.allSettled(Object.values(servers).map((s) => s?.stop()));
  await db.stop();
}
