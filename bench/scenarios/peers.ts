/**
 * Scenarios 3, 9 and 10, the only ones that start oidc-provider (run with `--only peers`
 * or in the full run). First the in-memory peer alone at every HTTP level (scenario 3,
 * compared in the report with scenario 2's refresh runs); then sessionguard against
 * oidc-provider configured for production, at 32 connections, in alternating rounds;
 * and the SQL each side sends per refresh.
 *
 * Four servers, loaded one at a time, the order rotated every round so that
 * drift of the shared machine falls on each alike; each figure is the median
 * over rounds, each ratio the median of the per-round ratios:
 *  - sessionguard signing with noble (`SESSION_SIGNER=noble`, what `auto` picks in Deno);
 *  - sessionguard signing with WebCrypto (`SESSION_SIGNER=webcrypto`, the signer before);
 *  - oidc-provider, production: Postgres adapter, durable commits, rotation
 *    always, an ES256 JWT access token per refresh (resource indicators);
 *  - oidc-provider in memory, opaque access tokens (what it skips: every durable
 *    write and the signature).
 *
 * Then a short counting run per side through a wire-protocol proxy
 * (bench/lib/wire-count.ts): statements and parses per refresh as sent, and
 * commits per refresh from the server's own `pg_stat_database.xact_commit`.
 */
import type { Context } from "../lib/context.ts";
import type { BenchDatabase } from "../lib/database.ts";
import { describeRun, measure, runLoad } from "../lib/load.ts";
import { median, progress, ratio, sleep } from "../lib/log.ts";
import { rssKb } from "../lib/proc.ts";
import type { MeasuredRun, PeerName, PeersResult, SqlPerRefresh } from "../lib/results.ts";
import { type Server, startPeer, startSessionFunction } from "../lib/targets.ts";
import { startWireCounter } from "../lib/wire-count.ts";

const CONNECTIONS = 32;
const NAMES: readonly PeerName[] = ["noble", "webcrypto", "production", "memory"];

/** Commits so far in the bench database, after every other backend's pending stats are flushed. */
async function commits(db: BenchDatabase): Promise<number> {
  await db.sql`select pg_catalog.pg_stat_force_next_flush()`;
  await db.sql`select pg_catalog.pg_stat_clear_snapshot()`;
  const [{ n }] = await db.sql`
    select xact_commit::bigint as n from pg_catalog.pg_stat_database where datname = current_database()`;
  return Number(n);
}

/** Ends the named backends (their statistics are flushed as they exit) and waits until they are gone. */
async function endBackends(db: BenchDatabase, applicationName: string): Promise<void> {
  await db.sql`
    select pg_catalog.pg_terminate_backend(pid) from pg_catalog.pg_stat_activity
    where application_name = ${applicationName}`;
  for (let i = 0; i < 100; i++) {
    const [{ n }] = await db.sql`
      select count(*)::int as n from pg_catalog.pg_stat_activity where application_name = ${applicationName}`;
    if (n === 0) break;
    await sleep(50);
  }
  await sleep(300);
}

/** Refreshes for `seconds` through a counting proxy; statements, parses and commits per refresh. */
async function countSql(
  db: BenchDatabase,
  seconds: number,
  applicationName: string,
  start: (url: string) => Promise<Server>,
): Promise<SqlPerRefresh> {
  const proxy = await startWireCounter(db.url);
  const contender = await start(proxy.url);
  try {
    // One request each opens the pool's connections and (when prepared) parses once.
    await runLoad(contender.target, await contender.tokens(4), 4, 0.5);
    const fresh = await contender.tokens(4);
    await endBackends(db, applicationName);
    const before = await commits(db);
    proxy.reset();
    const run = await runLoad(contender.target, fresh, 4, seconds);
    const { statements, parses } = proxy.counts;
    await endBackends(db, applicationName);
    const after = await commits(db);
    // The two commits() calls and endBackends' queries are the admin connection's own: measured alike without load.
    const idleBefore = await commits(db);
    await endBackends(db, applicationName);
    const idle = (await commits(db)) - idleBefore;
    const n = run.ok;
    return { refreshes: n, statements: statements / n, parses: parses / n, commits: (after - before - idle) / n };
  } finally {
    await contender.stop();
    await proxy.close();
  }
}

const ours = (url: string, signer: "noble" | "webcrypto", prepare?: "on" | "off") =>
  startSessionFunction(url, { signer, prepare });

/** Scenario 3: the in-memory peer alone at each HTTP level. */
async function inMemoryLevels({ db, scale }: Context): Promise<Pick<PeersResult, "levels" | "idleRssKb">> {
  const peer = await startPeer("memory", db.url);
  try {
    const idleRssKb = rssKb(peer.pid);
    await runLoad(peer.target, await peer.tokens(8), 8, scale.warmupSeconds);
    const levels: { connections: number; run: MeasuredRun }[] = [];
    for (const connections of scale.httpConnections) {
      const run = await measure(peer, await peer.tokens(connections), connections, scale.httpSeconds, db);
      progress("peers", `c=${connections} oidc-provider in memory: ${describeRun(run)}`);
      levels.push({ connections, run });
    }
    return { levels, idleRssKb };
  } finally {
    await peer.stop();
  }
}

export async function runPeers(ctx: Context): Promise<PeersResult> {
  const { db, scale } = ctx;
  const seconds = scale.httpSeconds;
  const roundsCount = scale.peerRounds;
  progress("peers", "oidc-provider in memory at each HTTP level (scenario 3)");
  const inMemory = await inMemoryLevels(ctx);
  progress("peers", "starting sessionguard (noble, WebCrypto) and oidc-provider (Postgres + JWT, memory)");
  const contenders = {} as Record<PeerName, Server>;
  try {
    contenders.noble = await ours(db.url, "noble");
    contenders.webcrypto = await ours(db.url, "webcrypto");
    contenders.production = await startPeer("postgres", db.url);
    contenders.memory = await startPeer("memory", db.url);
    for (const c of Object.values(contenders)) await runLoad(c.target, await c.tokens(8), 8, scale.warmupSeconds);
    const rounds: Record<PeerName, MeasuredRun>[] = [];
    for (let r = 0; r < roundsCount; r++) {
      const order = NAMES.map((_, i) => NAMES[(i + r) % NAMES.length]);
      const round = {} as Record<PeerName, MeasuredRun>;
      for (const name of order) {
        const c = contenders[name];
        const run = round[name] = await measure(c, await c.tokens(CONNECTIONS), CONNECTIONS, seconds, db);
        progress("peers", `round ${r + 1} ${name}: ${describeRun(run)}, server CPU ${Math.round(run.cpuUsPerRequest.server)} µs/req`);
      }
      rounds.push(round);
    }
    const medians = Object.fromEntries(NAMES.map((name) => {
      const of = (f: (run: MeasuredRun) => number) => median(rounds.map((round) => f(round[name])));
      return [name, {
        rps: of((run) => run.rps),
        p50: of((run) => run.latencyMs.p50),
        p99: of((run) => run.latencyMs.p99),
        serverCpuUs: of((run) => run.cpuUsPerRequest.server),
        postgresCpuUs: of((run) => run.cpuUsPerRequest.postgres),
      }];
    })) as PeersResult["medians"];
    const perRound = (f: (round: Record<PeerName, MeasuredRun>) => number) => median(rounds.map(f));
    const ratios = {
      rpsVsProduction: perRound((x) => ratio(x.noble.rps, x.production.rps)),
      p99VsProduction: perRound((x) => ratio(x.noble.latencyMs.p99, x.production.latencyMs.p99)),
      rpsVsMemory: perRound((x) => ratio(x.noble.rps, x.memory.rps)),
      nobleVsWebcrypto: perRound((x) => ratio(x.noble.rps, x.webcrypto.rps)),
    };
    progress(
      "peers",
      `medians of ${roundsCount} rounds: ours ÷ production peer ${ratios.rpsVsProduction.toFixed(2)}x req/s, ` +
        `p99 ${ratios.p99VsProduction.toFixed(2)}x; noble ÷ WebCrypto ${ratios.nobleVsWebcrypto.toFixed(2)}x`,
    );
    for (const name of NAMES) await contenders[name].stop();

    progress("peers", "counting statements and commits per refresh through a wire-protocol proxy");
    const countSeconds = Math.max(3, seconds / 2); // 3 s in a full run; a quick run needs as long to count anything
    const sql = {
      ours: await countSql(db, countSeconds, "sessionguard", (url) => ours(url, "noble", "on")),
      oursUnprepared: await countSql(db, countSeconds, "sessionguard", (url) => ours(url, "noble", "off")),
      production: await countSql(db, countSeconds, "oidc-peer", (url) => startPeer("postgres", url)),
    };
    progress(
      "peers",
      `per refresh: ours ${sql.ours.statements.toFixed(2)} statements, ${sql.ours.commits.toFixed(2)} commits; ` +
        `oidc-provider ${sql.production.statements.toFixed(2)} statements, ${sql.production.commits.toFixed(2)} commits`,
    );
    return { connections: CONNECTIONS, seconds, ...inMemory, rounds, medians, ratios, sql };
  } finally {
    await Promise.allSettled(Object.values(contenders).map((c) => c.stop()));
  }
}
