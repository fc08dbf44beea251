/**
 * Scenarios 2 and 6: POST /refresh of the real session function against a bare
 * Deno.serve doing one `select 1` (target ≥ 0.5 of its requests/s, p99 under 10x p50)
 * at 1, 8, 32 and 64 keep-alive connections; every request presents a live one-time
 * token. While each server is loaded the bench samples its RSS and the CPU time of the
 * server, of Postgres (all backends) and of the load generator. The two servers are
 * loaded one at a time, level by level, so slow drift of the machine affects both
 * alike. oidc-provider on the same load is the peers scenario's (scenario 3).
 */
import type { Context } from "../lib/context.ts";
import { describeRun, measure, runLoad } from "../lib/load.ts";
import { progress, ratio } from "../lib/log.ts";
import { rssKb } from "../lib/proc.ts";
import type { HttpResult, MeasuredRun } from "../lib/results.ts";
import { type Server, startBaseline, startSessionFunction } from "../lib/targets.ts";

export async function runHttp({ db, scale }: Context): Promise<HttpResult> {
  const seconds = scale.httpSeconds;
  progress("http", "starting the session function and the select-1 baseline");
  const ours = await startSessionFunction(db.url);
  const baseline = await startBaseline(db.url).catch(async (error) => {
    await ours.stop();
    throw error;
  });
  const run = async (server: Server, connections: number) =>
    await measure(server, await server.tokens(connections), connections, seconds, db);
  try {
    const idleRssKb = { sessionFunction: rssKb(ours.pid), baseline: rssKb(baseline.pid) };
    progress("http", `warming up each server for ${scale.warmupSeconds} s`);
    for (const server of [baseline, ours]) await runLoad(server.target, await server.tokens(8), 8, scale.warmupSeconds);

    const levels: HttpResult["levels"][number][] = [];
    for (const connections of scale.httpConnections) {
      const baselineRun = await run(baseline, connections);
      progress("http", `c=${connections} baseline: ${describeRun(baselineRun)}`);
      const refreshRun = await run(ours, connections);
      progress("http", `c=${connections} refresh:  ${describeRun(refreshRun)}`);
      levels.push({
        connections,
        baseline: baselineRun,
        refresh: refreshRun,
        ratio: ratio(refreshRun.rps, baselineRun.rps),
        tail: ratio(refreshRun.latencyMs.p99, refreshRun.latencyMs.p50),
      });
    }
    const finalRssKb = { sessionFunction: rssKb(ours.pid) };
    await ours.stop();

    // The same function signing HS256 (Supabase's legacy JWT secret), to show what signing costs.
    progress("http", "refresh with HS256 access tokens (SESSION_JWT_SECRET) at 32 connections");
    const hs256Function = await startSessionFunction(db.url, { hs256: true });
    let hs256: MeasuredRun | null = null;
    try {
      await runLoad(hs256Function.target, await hs256Function.tokens(8), 8, scale.warmupSeconds);
      hs256 = await run(hs256Function, 32);
      progress("http", `c=32 refresh (HS256): ${describeRun(hs256)}`);
    } finally {
      await hs256Function.stop();
    }
    return { seconds, levels, hs256, idleRssKb, finalRssKb };
  } finally {
    await Promise.allSettled([ours.stop(), baseline.stop()]);
  }
}
