/**
 * `npm run model:replay`: the longer run of tests/integration/model/replay-sql.test.ts. Many random
 * simulations of model/session.pml, each replayed request by request against the SQL API
 * on a scratch database (or DATABASE_URL); prints what was covered and every divergence,
 * and exits non-zero on any.
 *
 * Options: --traces N (2000) --seed N (first simulation seed).
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { replay } from "./model/replay.ts";
import { simulate, workspace } from "./model/spin.ts";
import { parseTrace } from "./model/trace.ts";
import { startDatabase } from "./lib/local-postgres.ts";

const { values: args } = parseArgs({
  options: {
    traces: { type: "string", default: "2000" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
  },
});
const total = Number(args.traces);
const firstSeed = Number(args.seed);

async function main() {
  const began = performance.now();
  const external = process.env.DATABASE_URL;
  const db = external ? null : await startDatabase({ version: 17, name: "model-replay", ephemeral: true });
  const sql = postgres(external ?? db!.url, { max: 4, onnotice: () => {} });
  const ws = workspace();
  const outcomes = new Map<string, number>();
  const divergences: string[] = [];
  let steps = 0;
  let next = 0;
  try {
    await Promise.all(Array.from({ length: 3 }, async () => {
      while (next < total) {
        const seed = firstSeed + next++;
        const trace = parseTrace(`simulation seed ${seed}`, await simulate(ws, seed));
        steps += trace.steps.length;
        for (const step of trace.steps) {
          const key = `${trace.bound ? "bound" : "unbound"} ${step.result}`;
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        }
        const d = await replay(sql, trace);
        if (d) divergences.push(`${trace.source}, step ${d.step}: model "${d.expected}", database "${d.actual}"`);
        if (next % 250 === 0) console.log(`model:replay: ${next}/${total} traces`);
      }
    }));
  } finally {
    ws.close();
    await sql.end();
    await db?.stop();
  }
  console.log(`model:replay: ${total} simulations (seeds ${firstSeed}..${firstSeed + total - 1}), ${steps} requests ` +
    `replayed in ${((performance.now() - began) / 1000).toFixed(0)} s`);
  for (const [outcome, n] of [...outcomes].sort()) console.log(`  ${outcome.padEnd(24)} ${n}`);
  for (const d of divergences) console.log(`DIVERGENCE ${d}`);
  console.log(`${total - divergences.length} passed, ${divergences.length} failed`);
  process.exitCode = divergences.length === 0 ? 0 : 1;
}

await main();
