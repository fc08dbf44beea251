/**
 * The throughput plot beside BENCHMARKS.md (bench/results/<date>-throughput.svg):
 * requests/s against connections for the HTTP scenario, commits/s against
 * clients for the database scenario, each with its baseline.
 */
import type { Scenarios } from "./report.ts";
import { type Chart, renderCharts } from "./svg.ts";

/** The SVG, or null when the run has neither scenario. */
export function renderPlot(scenarios: Scenarios): string | null {
  const charts: Chart[] = [];
  const http = scenarios.http;
  if (http) {
    charts.push({
      title: "HTTP: requests/s vs connections",
      xTitle: "keep-alive connections",
      yTitle: "successful requests per second",
      xLabels: http.levels.map((l) => String(l.connections)),
      series: [
        {
          name: "Deno.serve + select 1 (baseline)",
          color: "#888888",
          values: http.levels.map((l) => l.baseline.rps),
          dashed: true,
        },
        {
          name: "sessionguard POST /refresh",
          color: "#1f6feb",
          values: http.levels.map((l) => l.refresh.rps),
        },
        {
          name: "oidc-provider refresh_token grant",
          color: "#d1242f",
          values: http.levels.map((l) => l.peer.rps),
        },
      ],
    });
  }
  const database = scenarios.database;
  if (database) {
    charts.push({
      title: "Postgres: commits/s vs clients (durable)",
      xTitle: "pgbench clients",
      yTitle: "transactions per second",
      xLabels: database.levels.map((l) => String(l.clients)),
      series: [
        {
          name: "single-row insert (baseline)",
          color: "#888888",
          values: database.levels.map((l) => l.insert.tps),
          dashed: true,
        },
        {
          name: "sessionguard.rotate_session",
          color: "#1f6feb",
          values: database.levels.map((l) => l.rotate.tps),
        },
      ],
    });
  }
  return charts.length ? renderCharts(charts) : null;
}
