/**
 * Scenarios 2, 3 and 6: POST /refresh of the real session function against a
 * bare Deno.serve doing one `select 1` (target ≥ 0.5 of its requests/s, p99
 * under 10x p50) and against oidc-provider's rotating refresh_token grant
 * (target ≥ 1.5x its requests/s at 32 connections, with a lower p99), at 1, 8,
 * 32 and 64 keep-alive connections; every request presents a live one-time
 * token. While each server is loaded the bench samples its RSS and the CPU
 * time of the server, of Postgres (all backends) and of the load generator.
 *
 * The servers are loaded one at a time, level by level, so slow drift of the
 * machine affects all three alike.
 */
import type { Context } from "../lib/context.ts";
import type { BenchDatabase } from "../lib/database.ts";
import { type LoadResult, runLoad, type Target, type Tokens } from "../lib/load.ts";
import { progress, ratio } from "../lib/log.ts";
import { cpuMs, rssKb, sampleRss, type Server, treeCpuMs } from "../lib/proc.ts";
import { startBaseline, startPeer, startSessionFunction } from "../lib/targets.ts";

export interface MeasuredRun extends LoadResult {
  /**
   * CPU µs per successful request: the server process; Postgres as a whole (every
   * backend and background process); of that, the server's own connections
   * (application_name "sessionguard", which the baseline's pool shares); the load generator.
   */
  readonly cpuUsPerRequest: {
    readonly server: number;
    readonly postgres: number;
    readonly serverBackends: number;
    readonly loadGenerator: number;
  };
  readonly rss: { readonly peakKb: number; readonly meanKb: number };
}

export interface HttpLevel {
  readonly connections: number;
  readonly baseline: MeasuredRun;
  readonly refresh: MeasuredRun;
  readonly peer: MeasuredRun;
  /** refresh rps ÷ baseline rps. */
  readonly ratio: number;
  /** refresh rps ÷ peer rps. */
  readonly peerRatio: number;
  /** refresh p99 ÷ refresh p50. */
  readonly tail: number;
}

export interface HttpResult {
  readonly seconds: number;
  readonly levels: readonly HttpLevel[];
  /** The same refresh load with HS256 access tokens (SESSION_JWT_SECRET) at 32 connections. */
  readonly hs256: MeasuredRun | null;
  readonly idleRssKb: { readonly sessionFunction: number; readonly baseline: number; readonly peer: number };
  readonly finalRssKb: { readonly sessionFunction: number };
}

/** CPU ms so far of each backend the session function (or the baseline) holds open. */
async function backendCpu(db: BenchDatabase): Promise<Map<number, number>> {
  const rows = await db.sql<{ pid: number }[]>`
    select pid from pg_catalog.pg_stat_activity where application_name = 'sessionguard'`;
  return new Map(rows.map(({ pid }) => [pid, cpuMs(pid)]));
}

/** One measured load run of `server`, with CPU and memory sampled around it. */
export async function measure(
  server: Server,
  target: Target,
  tokens: Tokens,
  connections: number,
  seconds: number,
  db: BenchDatabase,
): Promise<MeasuredRun> {
  const backendsBefore = await backendCpu(db);
  const rss = sampleRss(server.pid);
  const serverBefore = cpuMs(server.pid);
  const postgresBefore = treeCpuMs(db.postmasterPid);
  const loadBefore = process.cpuUsage();
  const result = await runLoad(target, tokens, connections, seconds);
  const load = process.cpuUsage(loadBefore);
  const postgresUsed = treeCpuMs(db.postmasterPid) - postgresBefore;
  const serverUsed = cpuMs(server.pid) - serverBefore;
  const memory = rss.stop();
  let backendsUsed = 0;
  for (const [pid, ms] of await backendCpu(db)) {
    if (Number.isFinite(ms)) backendsUsed += ms - (backendsBefore.get(pid) ?? 0);
  }
  const perRequest = (ms: number) => (result.ok > 0 ? (ms * 1000) / result.ok : NaN);
  return {
    ...result,
    cpuUsPerRequest: {
      server: perRequest(serverUsed),
      postgres: perRequest(postgresUsed),
      serverBackends: perRequest(backendsUsed),
      loadGenerator: perRequest((load.user + load.system) / 1000),
    },
    rss: { peakKb: memory.peakKb, meanKb: memory.meanKb },
  };
}

function describe(run: LoadResult): string {
  const errors = Object.entries(run.errors).map(([code, n]) => `${n}x${code}`).join(" ");
  return `${Math.round(run.rps)} req/s, p50 ${run.latencyMs.p50.toFixed(2)} ms, p99 ${
    run.latencyMs.p99.toFixed(2)
  } ms` +
    (errors ? `, errors ${errors}` : "");
}

export async function runHttp(ctx: Context): Promise<HttpResult> {
  const { db, scale } = ctx;
  const seconds = scale.httpSeconds;
  progress("http", "starting the session function, the select-1 baseline and oidc-provider");
  const ours = await startSessionFunction(db.url);
  const baseline = await startBaseline(db.url).catch(async (error) => {
    await ours.stop();
    throw error;
  });
  const peer = await startPeer().catch(async (error) => {
    await Promise.allSettled([ours.stop(), baseline.server.stop()]);
    throw error;
  });
  try {
    const idleRssKb = {
      sessionFunction: rssKb(ours.server.pid),
      baseline: rssKb(baseline.server.pid),
      peer: rssKb(peer.server.pid),
    };
    const filler = (n: number): Tokens => ({
      kind: "per-connection",
      tokens: Array(n).fill("x".repeat(112)),
    });

    progress("http", `warming up each server for ${scale.warmupSeconds} s`);
    await runLoad(baseline.target, filler(8), 8, scale.warmupSeconds);
    await runLoad(
      ours.target,
      { kind: "per-connection", tokens: await ours.startSessions(8) },
      8,
      scale.warmupSeconds,
    );
    await runLoad(
      peer.target,
      { kind: "per-connection", tokens: await peer.mint(8) },
      8,
      scale.warmupSeconds,
    );

    const levels: HttpLevel[] = [];
    for (const connections of scale.httpConnections) {
      const baselineRun = await measure(
        baseline.server,
        baseline.target,
        filler(connections),
        connections,
        seconds,
        db,
      );
      progress("http", `c=${connections} baseline: ${describe(baselineRun)}`);
      const refreshRun = await measure(
        ours.server,
        ours.target,
        { kind: "per-connection", tokens: await ours.startSessions(connections) },
        connections,
        seconds,
        db,
      );
      progress("http", `c=${connections} refresh:  ${describe(refreshRun)}`);
      const peerRun = await measure(
        peer.server,
        peer.target,
        { kind: "per-connection", tokens: await peer.mint(connections) },
        connections,
        seconds,
        db,
      );
      progress("http", `c=${connections} peer:     ${describe(peerRun)}`);
      levels.push({
        connections,
        baseline: baselineRun,
        refresh: refreshRun,
        peer: peerRun,
        ratio: ratio(refreshRun.rps, baselineRun.rps),
        peerRatio: ratio(refreshRun.rps, peerRun.rps),
        tail: ratio(refreshRun.latencyMs.p99, refreshRun.latencyMs.p50),
      });
    }
    const finalRssKb = { sessionFunction: rssKb(ours.server.pid) };
    await ours.stop();

    // The same function signing HS256 (Supabase's legacy JWT secret), to show what signing costs.
    progress("http", "refresh with HS256 access tokens (SESSION_JWT_SECRET) at 32 connections");
    const hs256Function = await startSessionFunction(db.url, { hs256: true });
    let hs256: MeasuredRun | null = null;
    try {
      await runLoad(
        hs256Function.target,
        {
          kind: "per-connection",
          tokens: await hs256Function.startSessions(8),
        },
        8,
        scale.warmupSeconds,
      );
      hs256 = await measure(
        hs256Function.server,
        hs256Function.target,
        { kind: "per-connection", tokens: await hs256Function.startSessions(32) },
        32,
        seconds,
        db,
      );
      progress("http", `c=32 refresh (HS256): ${describe(hs256)}`);
    } finally {
      await hs256Function.stop();
    }
    return { seconds, levels, hs256, idleRssKb, finalRssKb };
  } finally {
    await Promise.allSettled([ours.stop(), baseline.server.stop(), peer.server.stop()]);
  }
}
