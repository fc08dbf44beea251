/**
 * The report's sections on oidc-provider configured for production: scenario 9
 * (alternating rounds against it, and the SQL per refresh counted on the wire)
 * and scenario 10 (the signer and prepared statements that closed the gap,
 * before and after).
 */
import { fixed, int, table } from "./report-format.ts";
import type { Scenarios, SqlPerRefresh } from "./results.ts";

/** Scenario 9: the four servers in alternating rounds, and the SQL per refresh. */
export function peersSection(scenarios: Scenarios): string[] {
  const out: string[] = [];
  const { peers } = scenarios;
  if (peers) {
    const names = {
      noble: "sessionguard, noble signer",
      webcrypto: "sessionguard, WebCrypto signer",
      production: "oidc-provider, Postgres + ES256 JWT",
      memory: "oidc-provider, in memory, opaque",
    } as const;
    out.push(
      "### 9. Peers: oidc-provider configured for production, alternating rounds",
      "",
      `${peers.connections} keep-alive connections, ${peers.seconds} s per run, ${peers.rounds.length} rounds; ` +
        "the four servers are loaded one at a time and the order rotates every round. Medians over rounds; ratios are " +
        "medians of the per-round ratios. The production peer keeps its tokens in Postgres (bench/peer/pg-adapter.ts, " +
        "durable commits on the same cluster), rotates on every refresh and signs an ES256 JWT access token for a " +
        "resource server each time (resource indicators, `accessTokenFormat: 'jwt'`). The in-memory peer skips both: " +
        "nothing it writes is durable, its access token is an opaque random string.",
      "",
      table(
        ["server", "req/s", "p50", "p99", "server CPU / req", "Postgres CPU / req"],
        (Object.keys(names) as (keyof typeof names)[]).map((name) => {
          const m = peers.medians[name];
          return [
            names[name],
            int(m.rps),
            `${fixed(m.p50)} ms`,
            `${fixed(m.p99)} ms`,
            `${int(m.serverCpuUs)} µs`,
            `${int(m.postgresCpuUs)} µs`,
          ];
        }),
      ),
      "",
      `sessionguard ÷ production peer: **${fixed(peers.ratios.rpsVsProduction)}× req/s**, p99 ${
        fixed(peers.ratios.p99VsProduction)
      }×; ÷ in-memory peer ${fixed(peers.ratios.rpsVsMemory)}×; noble ÷ WebCrypto signer ${
        fixed(peers.ratios.nobleVsWebcrypto)
      }× req/s. Per round (req/s): ${
        peers.rounds.map((r, i) =>
          `${i + 1}: ${int(r.noble.rps)} / ${int(r.webcrypto.rps)} / ${int(r.production.rps)} / ${int(r.memory.rps)}`
        ).join("; ")
      } (noble / WebCrypto / production / memory).`,
      "",
      "SQL per refresh, counted on the wire by a proxy (statements = Execute or simple Query messages, parses = Parse " +
        "messages) and commits from `pg_stat_database.xact_commit` (the last in-flight requests of a run make these a " +
        "little over the true value):",
      "",
      table(
        ["side", "refreshes counted", "statements", "parses", "commits"],
        [
          ["sessionguard, prepared (`SESSION_DB_PREPARE=on`, what `auto` picks on a direct URL)", peers.sql.ours],
          ["sessionguard, unprepared (transaction pooler)", peers.sql.oursUnprepared],
          ["oidc-provider, Postgres adapter", peers.sql.production],
        ].map(([label, c]) => {
          const counts = c as SqlPerRefresh;
          return [
            label as string,
            int(counts.refreshes),
            fixed(counts.statements),
            fixed(counts.parses),
            fixed(counts.commits),
          ];
        }),
      ),
      "",
    );
  }
  return out;
}

/** Scenario 10: ES256 signer and prepared statements, before and after. */
export function signerSection(scenarios: Scenarios): string[] {
  const out: string[] = [];
  const { peers, costs } = scenarios;
  const m = costs?.micro;
  if (m) {
    out.push(
      "### 10. Signer and prepared statements, before and after",
      "",
      table(
        ["", "before", "after", "after ÷ before"],
        [
          [
            "ES256 signature, µs: p50 wall (mean CPU)",
            `${int(m.es256Webcrypto.p50)} (${int(m.es256Webcrypto.cpu)}) WebCrypto`,
            `${int(m.es256Noble.p50)} (${int(m.es256Noble.cpu)}) noble`,
            `${fixed(m.es256Noble.p50 / m.es256Webcrypto.p50)} (${fixed(m.es256Noble.cpu / m.es256Webcrypto.cpu)})`,
          ],
          ...(peers
            ? [[
              "function CPU per refresh at 32 conn., µs",
              `${int(peers.medians.webcrypto.serverCpuUs)} WebCrypto`,
              `${int(peers.medians.noble.serverCpuUs)} noble`,
              fixed(peers.medians.noble.serverCpuUs / peers.medians.webcrypto.serverCpuUs),
            ]]
            : []),
          [
            "`refresh_session` round trip, µs: p50 wall (client CPU, 64 in flight)",
            `${int(m.rotate.p50)} (${int(m.clientCpuBusy.rotateUnprepared)}) unprepared`,
            `${int(m.rotatePrepared.p50)} (${int(m.clientCpuBusy.rotatePrepared)}) prepared`,
            `${fixed(m.rotatePrepared.p50 / m.rotate.p50)} (${
              fixed(m.clientCpuBusy.rotatePrepared / m.clientCpuBusy.rotateUnprepared)
            })`,
          ],
        ],
      ),
      "",
      "Signatures alternate between the two implementations in the same Deno process; the rotations alternate between " +
        "two pools on the same durable database. Medians, not means: on a busy machine a mean is mostly the time the " +
        "process waited for a core.",
      "",
    );
  }
  return out;
}
