/**
 * Server replay by enumeration, not by chance: every request sequence up to three requests
 * (scripts/model/enumerate.ts: the owner with its key, a stranger without a proof, a
 * stranger with its own key; each generation; now or a grace window later; bound and
 * unbound families), judged by model/server.pml and replayed on the real refresh_session.
 * Every mutation of the function is then caught on the first sequence that tells it
 * apart, the same one on every run: the model's server mutations, and a key check that
 * lets any proof's key rotate a bound family (which random simulations caught in 73 of 240
 * runs).
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enumerate } from "../../../scripts/model/enumerate.ts";
import { replay } from "../../../scripts/model/replay.ts";
import { ANY_KEY_MUTANT, callTemp, install, SQL_MUTANTS, uninstall } from "../../../scripts/model/sql-mutants.ts";
import { type Workspace, workspace } from "../../../scripts/model/spin.ts";
import type { Trace } from "../../../scripts/model/trace.ts";
import { testDatabaseUrl } from "../../support/context.ts";

const LENGTH = 3;
const GRACE = 3;

describe("every request sequence up to three requests, replayed on refresh_session", () => {
  let ws: Workspace;
  let sql: postgres.Sql;
  let traces: Trace[];
  beforeAll(async () => {
    ws = workspace();
    sql = postgres(testDatabaseUrl(), { max: 4, onnotice: () => {} });
    traces = await enumerate(ws, LENGTH, GRACE);
  }, 120_000);
  afterAll(async () => {
    ws?.close();
    await sql?.end();
  });

  it("the real function answers every sequence as the model's server does", async () => {
    const results = new Set(traces.flatMap((t) => t.steps.map((s) => `${t.bound ? "bound" : "unbound"} ${s.result}`)));
    for (const r of ["rotated", "grace", "reused", "not_found"]) {
      expect(results).toContain(`unbound ${r}`);
      expect(results).toContain(`bound ${r}`);
    }
    expect(results).toContain("bound dpop_mismatch");
    const divergences: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < traces.length) {
        const trace = traces[next++];
        const d = await replay(sql, trace);
        if (d) divergences.push(`${trace.source}: step ${d.step}: model "${d.expected}", SQL "${d.actual}"`);
      }
    }));
    expect(divergences).toEqual([]);
  }, 600_000);

  const mutations = [
    ...SQL_MUTANTS.map((m) => ({ name: m.model, mutate: m.mutate, stoppedBy: m.stoppedBy })),
    { name: "any key rotates a bound family", mutate: ANY_KEY_MUTANT, stoppedBy: undefined },
  ];
  for (const mutation of mutations) {
    it(`catches the mutation "${mutation.name}" on a fixed sequence`, async () => {
      const conn = await sql.reserve();
      const name = `sg_enum_${randomBytes(4).toString("hex")}`;
      try {
        await install(conn, name, mutation.mutate);
        let caught: string | null = null;
        // Bound families first: most mutations are about them (the order is fixed either way).
        for (const trace of [...traces.filter((t) => t.bound), ...traces.filter((t) => !t.bound)]) {
          const d = await replay(conn as unknown as postgres.Sql, trace, { rotate: callTemp(name) });
          if (d) {
            caught = `${trace.source}, step ${d.step}: model "${d.expected}", mutated SQL "${d.actual}"`;
            // Caught by an answer, not by an error of the harness; only a mutation another
            // guard of the schema stops may fail with that guard's error.
            if (d.actual.startsWith("raised:")) expect(d.actual).toContain(mutation.stoppedBy ?? "(no error expected)");
            break;
          }
        }
        expect(caught, "no enumerated sequence tells the mutation apart").not.toBeNull();
      } finally {
        await uninstall(conn, name).catch(() => {});
        conn.release();
      }
    }, 600_000);
  }
});
