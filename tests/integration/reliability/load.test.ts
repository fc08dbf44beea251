/**
 * Concurrency invariants under load (quick mode; `npm run soak` runs the full
 * size): ~200 families refreshed at once through three instances of the real
 * function on the test database, with racing tabs, lost answers retried inside
 * the grace window, thieves replaying spent tokens (two generations old, or
 * the previous one after a 1 s window) and forgers. Afterwards the database
 * must agree with every answer the clients got (support/invariants.ts).
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { createRefreshTokens } from "../../../functions/refresh-token.ts";
import { testDatabaseUrl } from "../../support/context.ts";
import type { AttackKind, Exchange, FamilyRun } from "../../../scripts/soak/families.ts";
import { checkInvariants } from "../../../scripts/soak/invariants.ts";
import { formatLoad, runLoad } from "../../../scripts/soak/load-run.ts";
import type { Answer } from "../../../scripts/soak/traffic.ts";

describe("load: concurrent families with thieves and forgers", () => {
  it("keeps one successor per token, revokes exactly the robbed families, never answers 5xx", async () => {
    const seed = Number(process.env.SG_LOAD_SEED ?? Date.now() % 1_000_000);
    const result = await runLoad({
      databaseUrl: testDatabaseUrl(),
      families: 200,
      rounds: 10,
      attacks: { stale: 20, window: 10, in_window: 10, forged: 20 },
      maxInFlight: 48,
      shortGraceSeconds: 1,
      seed,
    });
    console.log(formatLoad(result));

    expect(result.invariants.violations).toEqual([]);
    expect([...result.traffic.serverErrors().values()]).toEqual([]);
    // Every answer was one of the expected kinds: nothing unexplained slipped through.
    const labels = new Set(result.traffic.totals().keys());
    for (const label of labels) {
      expect([
        "200",
        "401 refresh_token_reused",
        "401 session_revoked",
        "401 invalid_refresh_token",
        "aborted",
      ])
        .toContain(label);
    }
    expect(result.invariants.revokedFound).toBe(30);
    expect(result.invariants.rotationsObserved).toBeGreaterThan(1500);
    expect(result.traffic.sent).toBeGreaterThan(2500);
  }, 120_000);
});

describe("the invariant checker", () => {
  it("flags two successors, a generation nobody saw, a wrong revocation and a missed one", async () => {
    const sql = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
    const tokens = await createRefreshTokens(
      [randomBytes(32).toString("base64url")],
      "http://localhost:54321/functions/v1/session",
    );
    try {
      const start = async (attack: AttackKind | null): Promise<FamilyRun> => {
        const userId = `user_checker${randomBytes(6).toString("hex")}`;
        const [row] = await sql`
          select session_id from sessionguard.start_session(${userId}, null, null, null, null, 3600, 7200)`;
        const token = await tokens.mint(row.session_id, 0);
        return {
          id: row.session_id,
          userId,
          owner: { ip: "10.0.0.1", userAgent: "Owner" },
          thief: { ip: "198.51.100.1", userAgent: "Thief" },
          attack,
          startToken: token,
          token,
          exchanges: [],
          aborted: new Set(),
          stolen: null,
          attackAnsweredAt: null,
          successorOfStolen: null,
          stopped: null,
        };
      };
      const ok = (refreshToken: string): Answer => ({
        kind: "http",
        status: 200,
        code: null,
        refreshToken,
        retryAfter: null,
        contentType: "application/json",
      });
      const saw = (family: FamilyRun, token: string, answer: Answer, by: Exchange["by"] = "owner") =>
        family.exchanges.push({ token, answer, afterAttack: false, by, sentAt: 0, elapsedMs: 0 });

      // Two different successors for one token.
      const branched = await start(null);
      saw(branched, branched.token, ok(await tokens.mint(branched.id, 1)));
      saw(branched, branched.token, ok(await tokens.mint(branched.id, 2)));
      // The database moved on without any client seeing it.
      const ahead = await start(null);
      await sql`update sessionguard.families set generation = 1 where id = ${ahead.id}`;
      await sql`update sessionguard.families set generation = 2 where id = ${ahead.id}`;
      saw(ahead, ahead.token, ok(await tokens.mint(ahead.id, 1)));
      // Revoked though nobody stole from it.
      const innocent = await start(null);
      saw(innocent, innocent.token, ok(await tokens.mint(innocent.id, 1)));
      await sql`update sessionguard.families set generation = 1 where id = ${innocent.id}`;
      await sql`select sessionguard.revoke_session(${innocent.userId}, ${innocent.id}::uuid)`;
      // Robbed, but still live.
      const robbed = await start("stale");

      const report = await checkInvariants(sql, [branched, ahead, innocent, robbed]);
      const about = (family: FamilyRun) => report.violations.filter((v) => v.includes(family.id));
      expect(about(branched).join("\n")).toMatch(/got 2 successors/);
      expect(about(ahead).join("\n")).toMatch(/generation 2 but 1 rotations observed/);
      expect(about(innocent).join("\n")).toMatch(/revoked_reason is session_revoked/);
      expect(about(robbed).join("\n")).toMatch(/revoked_reason is null/);
      expect(about(robbed).join("\n")).toMatch(/thief got nothing/);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
