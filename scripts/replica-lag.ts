/**
 * How long a revocation takes to reach a read replica: the time from the primary's
 * commit of `revoke_session` (as its caller sees it) to the first statement on a
 * streaming replica for which `sessionguard.session_active()` is false. Measured idle and
 * under refresh load (workers rotating sessions on the primary as /refresh does),
 * printed as a report. Nothing is asserted.
 *
 *   npm run bench:replica [-- --samples 200 --workers 4]
 *
 * A throwaway PostgreSQL 15 primary (stand-in and migrations applied, synchronous_commit
 * on as on Supabase) and a physical replica of it on the same machine
 * (scripts/lib/replica.ts): the network between them is loopback, so this is the floor
 * of replication lag, not what a replica in another region sees.
 */
import postgres from "postgres";
import { startDatabase } from "./lib/local-postgres.ts";
import { startReplica } from "./lib/replica.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  const value = i < 0 ? fallback : Number(args[i + 1]);
  if (!Number.isInteger(value) || value < 1 || value > 10_000) throw new Error(`--${name} must be 1..10000`);
  return value;
};
const SAMPLES = option("samples", 200);
const WORKERS = option("workers", 4);
/** The refresh policy the session function passes (functions/store/refresh.ts), budgets off. */
const POLICY = JSON.stringify({
  idle_timeout: 3600,
  reuse_grace: 10,
  theft_scope: "family",
  dpop_lifetime: 300,
  dpop_mismatch: "refuse",
  rate_limit: null,
  ip_rate_limit: null,
});

/** A sample that takes longer than this is recorded as this (and counted apart). */
const GIVE_UP_MS = 10_000;

const primaryDb = await startDatabase({ version: 15, ephemeral: true, name: "replica-lag" });
const replica = await startReplica(primaryDb.url).catch(async (error) => {
  await primaryDb.stop();
  throw error;
});
const primary = postgres(primaryDb.url, { max: WORKERS + 2, onnotice: () => {} });
const standby = postgres(replica.url, { max: 1, onnotice: () => {} });

try {
  await primary`alter system set synchronous_commit = on`;
  await primary`select pg_reload_conf()`;
  const idle = await measure(SAMPLES, false);
  const load = await underLoad(() => measure(SAMPLES, false));
  // What closes the gap where you run the primary: the standby made synchronous, and the
  // revoking transaction alone waiting until the standby has applied it (remote_apply).
  await primary`alter system set synchronous_standby_names = '*'`;
  await primary`select pg_reload_conf()`;
  await waitForSyncStandby();
  const applied = await underLoad(() => measure(SAMPLES, true));
  console.log(report([
    ["none", idle],
    [`${WORKERS} refresh workers, ${load.refreshesPerSecond}/s`, load.samples],
    [`same, revoke with remote_apply, ${applied.refreshesPerSecond}/s`, applied.samples],
  ]));
} finally {
  await standby.end();
  await primary.end();
  await replica.stop();
  await primaryDb.stop();
}

/** Until the primary counts the replica as its synchronous standby. */
async function waitForSyncStandby(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [row] = await primary`select count(*)::int as n from pg_stat_replication where sync_state = 'sync'`;
    if (row!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the replica never became a synchronous standby");
}

interface Samples {
  readonly ms: number[];
  /** Samples in which a statement sent after the commit returned still saw the session live. */
  readonly stillLive: number;
  readonly gaveUp: number;
}

/**
 * `count` revocations, each timed from the primary's commit to the replica's first
 * `false`; with `remoteApply` the revoking transaction waits for the standby to apply it.
 */
async function measure(count: number, remoteApply: boolean): Promise<Samples> {
  const ms: number[] = [];
  let gaveUp = 0;
  let stillLive = 0;
  for (let i = 0; i < count; i++) {
    const user = `user_lag_${i}_${Math.random().toString(36).slice(2, 10)}`;
    const [started] = await primary`
      select session_id from sessionguard.start_session(${user}, ${
      "sess_lag_" + i
    }, 'bench', null, null, 3600, 86400)`;
    const sid = started!.session_id as string;
    await standby`select set_config('request.jwt.claims', ${
      JSON.stringify({ sub: user, sid, role: "authenticated" })
    }, false)`;
    // The replica must see the live session first, or "false" would mean "not there yet".
    await until(true);
    if (remoteApply) {
      await primary.begin(async (tx) => {
        await tx`set local synchronous_commit = remote_apply`;
        await tx`select sessionguard.revoke_session(${user}, ${sid}::uuid)`;
      });
    } else {
      await primary`select sessionguard.revoke_session(${user}, ${sid}::uuid)`;
    }
    const committed = performance.now();
    const seen = await until(false);
    if (seen.polls > 1) stillLive++;
    const lag = seen.sent - committed;
    if (lag >= GIVE_UP_MS) gaveUp++;
    ms.push(Math.min(lag, GIVE_UP_MS));
  }
  return { ms, stillLive, gaveUp };
}

/**
 * Polls the replica until session_active() answers `wanted`; returns when the statement
 * that first did was sent: a statement sent then or later sees it, one sent earlier did
 * not (so one round trip is not counted as lag).
 */
async function until(wanted: boolean): Promise<{ sent: number; polls: number }> {
  const deadline = performance.now() + GIVE_UP_MS;
  for (let polls = 1;; polls++) {
    const sent = performance.now();
    const [row] = await standby`select sessionguard.session_active() as active`;
    if (row!.active === wanted || sent >= deadline) return { sent, polls };
  }
}

/** Runs `work` while WORKERS connections rotate sessions on the primary as /refresh does. */
async function underLoad<T>(work: () => Promise<T>): Promise<{ samples: T; refreshesPerSecond: number }> {
  let running = true;
  let refreshes = 0;
  const worker = async (w: number) => {
    const user = `user_load_${w}`;
    const [s] = await primary`
      select session_id from sessionguard.start_session(${user}, ${`sess_${user}`}, 'load', null, null, 3600, 86400)`;
    const sid = s!.session_id as string;
    let generation = 0;
    while (running) {
      const [r] = await primary`
        select result, generation from sessionguard.refresh_session(
          ${sid}::uuid, ${generation}::bigint, ${POLICY}::text::jsonb, '127.0.0.1'::inet, 'bench')`;
      if (r!.result !== "rotated") throw new Error(`refresh answered ${r!.result}`);
      generation = Number(r!.generation);
      refreshes++;
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
  const t0 = performance.now();
  try {
    const samples = await work();
    const seconds = (performance.now() - t0) / 1000;
    return { samples, refreshesPerSecond: Math.round(refreshes / seconds) };
  } finally {
    running = false;
    await Promise.all(workers);
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function report(rows: [string, Samples][]): string {
  const row = (label: string, s: Samples) => {
    const sorted = [...s.ms].sort((a, b) => a - b);
    const f = (n: number) => n.toFixed(2).padStart(8);
    return `| ${label.padEnd(44)} | ${String(sorted.length).padStart(7)} | ${f(quantile(sorted, 0.5))} | ${
      f(quantile(sorted, 0.99))
    } | ${f(sorted[sorted.length - 1]!)} | ${String(s.stillLive).padStart(11)} | ${
      String(s.gaveUp).padStart(5)
    } |`;
  };
  return [
    "Revocation visible on a streaming replica: ms from the primary's commit (as its caller sees it)",
    "to the first statement sent to the replica whose session_active() is false",
    "",
    `| ${
      "load on the primary".padEnd(44)
    } | samples |      p50 |      p99 |      max | still live* | >10 s |`,
    `|${"-".repeat(46)}|---------|----------|----------|----------|-------------|-------|`,
    ...rows.map(([label, samples]) => row(label, samples)),
    "",
    "PostgreSQL 15 primary and physical replica on one machine, loopback, synchronous_commit = on;",
    "asynchronous streaming, except the last row: synchronous_standby_names = '*' and the revoking",
    "transaction alone with synchronous_commit = remote_apply (the refreshes then wait for the",
    "standby's flush too, which their rate shows).",
    "* samples in which the replica still answered true to a statement sent after the commit returned.",
  ].join("\n");
}
