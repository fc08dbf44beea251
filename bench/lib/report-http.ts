/**
 * The report's sections on the session function over HTTP: scenario 2 (refresh against
 * the select-1 baseline, with CPU per request), scenario 3 (the in-memory oidc-provider,
 * from the peers scenario), scenario 6 (memory under load) and scenario 8 (the cost of
 * one refresh, broken down).
 */
import { errors, fixed, int, kib, table } from "./report-format.ts";
import type { MeasuredRun, Scenarios } from "./results.ts";

const ms = (run: MeasuredRun) => `${fixed(run.latencyMs.p50)} / ${fixed(run.latencyMs.p99)} ms`;
/** The in-memory peer's run at `connections`, when the peers scenario ran. */
const peerAt = (s: Scenarios, connections: number) => s.peers?.levels.find((l) => l.connections === connections)?.run;

/** Scenario 2: POST /refresh against `Deno.serve` + `select 1`, throughput, latency and CPU. */
export function httpSection(s: Scenarios): string[] {
  const { http } = s;
  if (!http) return [];
  return [
    "### 2. HTTP: POST /refresh against a bare Deno.serve + `select 1`",
    "",
    `autocannon, keep-alive, ${http.seconds} s per run; every refresh presents the live token its connection got ` +
    "last. Latencies are per successful request.",
    "",
    table(
      ["conn.", "baseline req/s", "refresh req/s", "ratio (≥ 0.5)", "refresh p50", "refresh p99", "p99 ÷ p50 (< 10)", "baseline p50 / p99", "refresh errors"],
      http.levels.map((l) => [
        String(l.connections),
        int(l.baseline.rps),
        int(l.refresh.rps),
        fixed(l.ratio),
        `${fixed(l.refresh.latencyMs.p50)} ms`,
        `${fixed(l.refresh.latencyMs.p99)} ms`,
        fixed(l.tail, 1),
        ms(l.baseline),
        errors(l.refresh),
      ]),
    ),
    "",
    "CPU time per successful request while loaded (µs; the load generator shares the same cores):",
    "",
    table(
      ["conn.", "server", "server process", "Postgres, all processes", "of which the server's connections", "load generator"],
      http.levels.flatMap((l) =>
        ([["select-1 baseline", l.baseline], ["sessionguard", l.refresh], ["oidc-provider", peerAt(s, l.connections)]] as [string, MeasuredRun | undefined][])
          .filter((pair): pair is [string, MeasuredRun] => pair[1] !== undefined)
          .map(([name, { cpuUsPerRequest: cpu }]) => [
            String(l.connections),
            name,
            int(cpu.server),
            int(cpu.postgres),
            int(cpu.serverBackends),
            int(cpu.loadGenerator),
          ])
      ),
    ),
    "",
  ];
}

/** Scenario 3: the in-memory oidc-provider on the same load, and the HS256 variant. */
export function peerInMemorySection(s: Scenarios): string[] {
  const { http, peers } = s;
  const out: string[] = [];
  if (peers) {
    out.push(
      "### 3. Peer: oidc-provider in memory (what it skips: durable writes and the signature)",
      "",
      "oidc-provider on Node, `rotateRefreshToken: true`, public client, scope `offline_access` (no ID token), " +
        "unbounded in-memory adapter (its rotations are not durable), opaque access tokens (nothing signed); same load " +
        "tool and token discipline. No target: scenario 9 compares against oidc-provider configured for production.",
      "",
      table(
        ["conn.", "oidc-provider req/s", "refresh req/s", "ratio (≥ 1.5 at 32)", "oidc-provider p50 / p99", "refresh p50 / p99", "peer errors"],
        peers.levels.map(({ connections, run }) => {
          const ours = http?.levels.find((l) => l.connections === connections)?.refresh;
          return [
            connections === 32 ? "**32**" : String(connections),
            int(run.rps),
            int(ours?.rps ?? NaN),
            fixed((ours?.rps ?? NaN) / run.rps),
            ms(run),
            ours ? ms(ours) : "–",
            errors(run),
          ];
        }),
      ),
      "",
    );
  }
  const at32 = http?.levels.find((l) => l.connections === 32);
  if (http?.hs256 && at32) {
    out.push(
      `Same refresh load with HS256 access tokens (\`SESSION_JWT_SECRET\`, Supabase's legacy secret) at 32 connections: ` +
        `**${int(http.hs256.rps)} req/s** (${fixed(http.hs256.rps / (peerAt(s, 32)?.rps ?? NaN))}× oidc-provider, ` +
        `${fixed(http.hs256.rps / at32.baseline.rps)}× the select-1 baseline), p50 ${fixed(http.hs256.latencyMs.p50)} ms, ` +
        `p99 ${fixed(http.hs256.latencyMs.p99)} ms, Deno CPU ${int(http.hs256.cpuUsPerRequest.server)} µs per refresh ` +
        `(ES256: ${int(at32.refresh.cpuUsPerRequest.server)} µs).`,
      "",
    );
  }
  return out;
}

/** Scenario 6: RSS of the function, the baseline and oidc-provider under each load level. */
export function memorySection(s: Scenarios): string[] {
  const { http } = s;
  if (!http) return [];
  const peakKib = (run: MeasuredRun | undefined) => kib((run?.rss.peakKb ?? NaN) * 1024);
  return [
    "### 6. Function memory under load",
    "",
    `RSS of the Deno process (VmRSS, sampled every 200 ms). Idle before load: ${kib(http.idleRssKb.sessionFunction * 1024)}; ` +
    `after all levels: ${kib(http.finalRssKb.sessionFunction * 1024)}. For comparison, idle: select-1 baseline ` +
    `${kib(http.idleRssKb.baseline * 1024)}, oidc-provider ${kib((s.peers?.idleRssKb ?? NaN) * 1024)}.`,
    "",
    table(
      ["conn.", "session function peak / mean", "baseline peak", "oidc-provider peak"],
      http.levels.map((l) => [
        String(l.connections),
        `${kib(l.refresh.rss.peakKb * 1024)} / ${kib(l.refresh.rss.meanKb * 1024)}`,
        peakKib(l.baseline),
        peakKib(peerAt(s, l.connections)),
      ]),
    ),
    "",
  ];
}

/** Scenario 8: the parts of one refresh, micro-measured, and the CPU per refresh under load. */
export function costsSection({ http, costs }: Scenarios): string[] {
  if (!costs) return [];
  const m = costs.micro;
  const at1 = http?.levels.find((l) => l.connections === 1);
  const at32 = http?.levels.find((l) => l.connections === 32);
  const httpUs = costs.bareHttp.one.latencyMs.p50 * 1000;
  const macUs = m.macVerify.mean + m.macMint.mean;
  const sum = httpUs + macUs + m.rotate.mean + m.es256.mean + m.json.mean;
  const out = [
    "### 8. Cost of one refresh, broken down",
    "",
    `Micro-measured in Deno with the function's own code, one operation at a time (${int(m.iterations)} each), in this run.`,
    "",
    table(["part", "µs", "measured as"], [
      ["HTTP", int(httpUs), "p50 round trip of a bare `Deno.serve` (no database) at 1 connection, load generator included"],
      [
        "HTTP, server CPU",
        int(costs.bareHttp.many.cpuUsPerRequest.server),
        `Deno CPU per request of the bare server at 32 connections (${int(costs.bareHttp.many.rps)} req/s)`,
      ],
      ["MAC", fixed(macUs, 1), `HMAC-SHA-256 verify (${fixed(m.macVerify.mean, 1)}) + mint of the successor (${fixed(m.macMint.mean, 1)})`],
      [
        "SQL round trip",
        int(m.rotate.mean),
        `\`store.${m.storeMethod}\` (refresh_session), one at a time, durable commit; p50 ${int(m.rotate.p50)}, p99 ` +
        `${int(m.rotate.p99)} (\`select 1\`: ${int(m.selectOne.mean)})`,
      ],
      ["signing", int(m.es256.mean), `ES256 access token (functions/access-token.ts); p50 ${int(m.es256.p50)}`],
      ["JSON", fixed(m.json.mean, 1), "parse the body, build the answer"],
      ["sum", int(sum), at1 ? `measured refresh p50 at 1 connection: ${int(at1.refresh.latencyMs.p50 * 1000)}` : ""],
      ["what if HS256", fixed(m.hs256.mean, 1), "same access token signed with the legacy JWT secret"],
      ["what if Ed25519", fixed(m.ed25519.mean, 1), "same claims signed EdDSA with jose (not accepted by the Data API today, see above)"],
    ]),
    "",
  ];
  if (at32) {
    const cpu = at32.refresh.cpuUsPerRequest;
    out.push(
      `Under load (32 connections) the Deno process spends **${int(cpu.server)} µs of CPU per refresh**, of which the ` +
        `ES256 signature is about ${int(m.es256.mean)} µs; Deno runs the handler on one thread, so one function instance ` +
        `tops out near ${int(1e6 / cpu.server)} refreshes/s. Postgres adds ${int(cpu.postgres)} µs per refresh ` +
        `(${int(cpu.serverBackends)} in the function's own connections, the rest WAL, checkpoints and autovacuum), ` +
        `against ${int(at32.baseline.cpuUsPerRequest.postgres)} µs for the baseline's \`select 1\`.`,
      "",
    );
  }
  return out;
}
