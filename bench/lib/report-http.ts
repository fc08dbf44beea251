/**
 * The report's sections on the session function over HTTP: scenario 2
 * (refresh against the select-1 baseline, with CPU per request), scenario 3
 * (the in-memory oidc-provider), scenario 6 (the function's memory under
 * load) and scenario 8 (the cost of one refresh, broken down).
 */
import { errors, fixed, int, kib, table } from "./report-format.ts";
import type { Scenarios } from "./report.ts";

/** Scenario 2: POST /refresh against `Deno.serve` + `select 1`, throughput, latency and CPU. */
export function httpSection(scenarios: Scenarios): string[] {
  const out: string[] = [];
  const http = scenarios.http;
  if (http) {
    out.push(
      "### 2. HTTP: POST /refresh against a bare Deno.serve + `select 1`",
      "",
      `autocannon, keep-alive, ${http.seconds} s per run; every refresh presents the live token its connection got last. ` +
        "Latencies are per successful request.",
      "",
      table(
        [
          "conn.",
          "baseline req/s",
          "refresh req/s",
          "ratio (≥ 0.5)",
          "refresh p50",
          "refresh p99",
          "p99 ÷ p50 (< 10)",
          "baseline p50 / p99",
          "refresh errors",
        ],
        http.levels.map((l) => [
          String(l.connections),
          int(l.baseline.rps),
          int(l.refresh.rps),
          fixed(l.ratio),
          `${fixed(l.refresh.latencyMs.p50)} ms`,
          `${fixed(l.refresh.latencyMs.p99)} ms`,
          fixed(l.tail, 1),
          `${fixed(l.baseline.latencyMs.p50)} / ${fixed(l.baseline.latencyMs.p99)} ms`,
          errors(l.refresh),
        ]),
      ),
      "",
      "CPU time per successful request while loaded (µs; the load generator shares the same cores):",
      "",
      table(
        [
          "conn.",
          "server",
          "server process",
          "Postgres, all processes",
          "of which the server's connections",
          "load generator",
        ],
        http.levels.flatMap((l) =>
          ([["select-1 baseline", l.baseline], ["sessionguard", l.refresh], [
            "oidc-provider",
            l.peer,
          ]] as const).map((
            [name, run],
          ) => [
            String(l.connections),
            name,
            int(run.cpuUsPerRequest.server),
            int(run.cpuUsPerRequest.postgres),
            int(run.cpuUsPerRequest.serverBackends),
            int(run.cpuUsPerRequest.loadGenerator),
          ])
        ),
      ),
      "",
    );
  }
  return out;
}

/** Scenario 3: the in-memory oidc-provider on the same load, and the HS256 variant. */
export function peerInMemorySection(scenarios: Scenarios): string[] {
  const out: string[] = [];
  const http = scenarios.http;
  if (http) {
    const at32 = http.levels.find((l) => l.connections === 32);
    out.push("### 3. Peer: oidc-provider in memory (what it skips: durable writes and the signature)", "");
    out.push(
      "oidc-provider on Node, `rotateRefreshToken: true`, public client, scope `offline_access` (no ID token), unbounded " +
        "in-memory adapter (its rotations are not durable), opaque access tokens (nothing signed); same load tool and token " +
        "discipline. No target: scenario 9 compares against oidc-provider configured for production.",
      "",
      table(
        [
          "conn.",
          "oidc-provider req/s",
          "refresh req/s",
          "ratio (≥ 1.5 at 32)",
          "oidc-provider p50 / p99",
          "refresh p50 / p99",
          "peer errors",
        ],
        http.levels.map((l) => [
          l.connections === 32 ? "**32**" : String(l.connections),
          int(l.peer.rps),
          int(l.refresh.rps),
          fixed(l.peerRatio),
          `${fixed(l.peer.latencyMs.p50)} / ${fixed(l.peer.latencyMs.p99)} ms`,
          `${fixed(l.refresh.latencyMs.p50)} / ${fixed(l.refresh.latencyMs.p99)} ms`,
          errors(l.peer),
        ]),
      ),
      "",
    );
    if (http.hs256 && at32) {
      out.push(
        `Same refresh load with HS256 access tokens (\`SESSION_JWT_SECRET\`, Supabase's legacy secret) at 32 connections: ` +
          `**${int(http.hs256.rps)} req/s** (${fixed(http.hs256.rps / at32.peer.rps)}× oidc-provider, ` +
          `${fixed(http.hs256.rps / at32.baseline.rps)}× the select-1 baseline), p50 ${
            fixed(http.hs256.latencyMs.p50)
          } ms, ` +
          `p99 ${fixed(http.hs256.latencyMs.p99)} ms, Deno CPU ${
            int(http.hs256.cpuUsPerRequest.server)
          } µs per refresh ` +
          `(ES256: ${int(at32.refresh.cpuUsPerRequest.server)} µs).`,
        "",
      );
    }
  }
  return out;
}

/** Scenario 6: RSS of the function, the baseline and oidc-provider under each load level. */
export function memorySection(scenarios: Scenarios): string[] {
  const out: string[] = [];
  const http = scenarios.http;
  if (http) {
    out.push(
      "### 6. Function memory under load",
      "",
      `RSS of the Deno process (VmRSS, sampled every 200 ms). Idle before load: ${
        kib(http.idleRssKb.sessionFunction * 1024)
      }; ` +
        `after all levels: ${
          kib(http.finalRssKb.sessionFunction * 1024)
        }. For comparison, idle: select-1 baseline ` +
        `${kib(http.idleRssKb.baseline * 1024)}, oidc-provider ${kib(http.idleRssKb.peer * 1024)}.`,
      "",
      table(
        ["conn.", "session function peak / mean", "baseline peak", "oidc-provider peak"],
        http.levels.map((l) => [
          String(l.connections),
          `${kib(l.refresh.rss.peakKb * 1024)} / ${kib(l.refresh.rss.meanKb * 1024)}`,
          kib(l.baseline.rss.peakKb * 1024),
          kib(l.peer.rss.peakKb * 1024),
        ]),
      ),
      "",
    );
  }
  return out;
}

/** Scenario 8: the parts of one refresh, micro-measured, and the CPU per refresh under load. */
export function costsSection(scenarios: Scenarios): string[] {
  const out: string[] = [];
  const http = scenarios.http;
  const costs = scenarios.costs;
  if (costs) {
    const m = costs.micro;
    const at1 = http?.levels.find((l) => l.connections === 1);
    const at32 = http?.levels.find((l) => l.connections === 32);
    const httpUs = costs.bareHttp.one.latencyMs.p50 * 1000;
    const macUs = m.macVerify.mean + m.macMint.mean;
    const sum = httpUs + macUs + m.rotate.mean + m.es256.mean + m.json.mean;
    out.push(
      "### 8. Cost of one refresh, broken down",
      "",
      `Micro-measured in Deno with the function's own code, one operation at a time (${
        int(m.iterations)
      } each), in this run.`,
      "",
      table(
        ["part", "µs", "measured as"],
        [
          [
            "HTTP",
            int(httpUs),
            "p50 round trip of a bare `Deno.serve` (no database) at 1 connection, load generator included",
          ],
          [
            "HTTP, server CPU",
            int(costs.bareHttp.many.cpuUsPerRequest.server),
            `Deno CPU per request of the bare server at 32 connections (${
              int(costs.bareHttp.many.rps)
            } req/s)`,
          ],
          [
            "MAC",
            fixed(macUs, 1),
            `HMAC-SHA-256 verify (${fixed(m.macVerify.mean, 1)}) + mint of the successor (${
              fixed(m.macMint.mean, 1)
            })`,
          ],
          [
            "SQL round trip",
            int(m.rotate.mean),
            `\`store.${m.storeMethod}\` (${
              m.storeMethod === "refreshSession" ? "refresh_session" : "rotate_session"
            }), one at a time, durable commit; p50 ${int(m.rotate.p50)}, p99 ${
              int(m.rotate.p99)
            } (\`select 1\`: ${int(m.selectOne.mean)})`,
          ],
          [
            "signing",
            int(m.es256.mean),
            `ES256 access token (functions/access-token.ts); p50 ${int(m.es256.p50)}`,
          ],
          ["JSON", fixed(m.json.mean, 1), "parse the body, build the answer"],
          [
            "sum",
            int(sum),
            at1 ? `measured refresh p50 at 1 connection: ${int(at1.refresh.latencyMs.p50 * 1000)}` : "",
          ],
          ["what if HS256", fixed(m.hs256.mean, 1), "same access token signed with the legacy JWT secret"],
          [
            "what if Ed25519",
            fixed(m.ed25519.mean, 1),
            "same claims signed EdDSA with jose (not accepted by the Data API today, see above)",
          ],
        ],
      ),
      "",
    );
    if (at32) {
      out.push(
        `Under load (32 connections) the Deno process spends **${
          int(at32.refresh.cpuUsPerRequest.server)
        } µs of CPU per refresh**, ` +
          `of which the ES256 signature is about ${
            int(m.es256.mean)
          } µs; Deno runs the handler on one thread, so one ` +
          `function instance tops out near ${
            int(1e6 / at32.refresh.cpuUsPerRequest.server)
          } refreshes/s. Postgres adds ` +
          `${int(at32.refresh.cpuUsPerRequest.postgres)} µs per refresh (${
            int(at32.refresh.cpuUsPerRequest.serverBackends)
          } in the function's own connections, the rest WAL, checkpoints and autovacuum), against ` +
          `${int(at32.baseline.cpuUsPerRequest.postgres)} µs for the baseline's \`select 1\`.`,
        "",
      );
    }
  }
  return out;
}
