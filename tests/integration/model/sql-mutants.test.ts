/**
 * Controls: the model's mutations carried into the real refresh_session (private copies in
 * pg_temp, see scripts/model/sql-mutants.ts). Each must be caught by the same replay that
 * passes on the real code, and must answer as the mutant model does; deterministic, so a
 * pass is never luck. The race control's baseline (the real row lock, same barrier) must
 * agree with the model, which shows the barrier itself breaks nothing.
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refreshSession } from "../../../scripts/model/replay.ts";
import { raceControls, sequentialControls, SQL_MUTANTS } from "../../../scripts/model/sql-mutants.ts";
import { type Workspace, workspace } from "../../../scripts/model/spin.ts";
import { testDatabaseUrl } from "../../support/context.ts";

describe("SQL mutations of refresh_session are caught by the model's traces", () => {
  let ws: Workspace;
  let sql: postgres.Sql;
  beforeAll(() => {
    ws = workspace();
    sql = postgres(testDatabaseUrl(), { max: 6, onnotice: () => {} });
  });
  afterAll(async () => {
    ws?.close();
    await sql?.end();
  });

  it("every sequential mutation answers as its mutant model does, and not as the protocol must", async () => {
    const results = await sequentialControls(sql, ws);
    expect(results).toHaveLength(SQL_MUTANTS.length);
    for (const [i, r] of results.entries()) {
      // A mutation that another guard of the schema refuses cannot answer as its mutant
      // model does; it must then fail with that guard's error.
      const guarded = SQL_MUTANTS[i].stoppedBy !== undefined;
      expect({ name: r.name, caught: r.caught, matchesMutant: r.matchesMutant, stoppedBy: r.stoppedBy, detail: r.detail })
        .toEqual({
          name: r.name,
          caught: true,
          matchesMutant: !guarded,
          stoppedBy: SQL_MUTANTS[i].stoppedBy,
          detail: r.detail,
        });
    }
  }, 300_000);

  it("a rotation without its row lock gives two successors of one token; with it, one", async () => {
    const [baseline, split] = await raceControls(sql, ws);
    expect(baseline.caught, baseline.detail).toBe(false);
    expect(split.caught, split.detail).toBe(true);
    expect(split.detail).toContain("rotated 1, rotated 2; generation 2");
  }, 120_000);

  it("the real refresh_session is untouched by the controls: eight requests with one token at once, one rotation", async () => {
    // Behaviour, not text: the function the routes call still serialises on the row lock.
    const base = new Date(Math.floor(Date.now() / 1000) * 1000);
    const [family] = await sql`
      select session_id from sessionguard.start_session(${`user_model_${Date.now()}`}, null, 'model', 'model race',
        null, 2592000, 5184000, null, ${base}::timestamptz)`;
    const answers = await Promise.all(Array.from({ length: 8 }, () =>
      refreshSession(sql, { sessionId: family.session_id, generation: 0, reuseGrace: 3, dpopJkt: null, now: base })));
    expect(answers.map((a) => `${a.result} ${a.generation}`).sort()).toEqual(["rotated 1", ...Array(7).fill("grace 1")].sort());
    const [{ n }] = await sql`select count(*)::int as n from pg_proc where proname like 'sg_control_%' or proname like 'sg_race_%'`;
    expect(n).toBe(0);
  });
});
