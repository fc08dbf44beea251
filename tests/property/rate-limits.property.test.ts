/**
 * SESSION_RATE_LIMITS against the real rate limiter: parseConfig accepts a budget
 * exactly when `sessionguard.check_rate_limit` (supabase/migrations/*_rate_limits_and_dpop_proofs.sql)
 * accepts every call the function makes with it — the budget itself (per user at
 * /start, per family at /refresh) and the per-ip budget, IP_BUDGET_FACTOR times larger.
 * A value that passes start-up but that the SQL refuses would answer 400 to every request.
 *
 * The SQL's verdict is asked of the test database, not copied: a change of its bounds
 * that the parser does not follow fails here.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, IP_BUDGET_FACTOR, parseConfig } from "../../functions/config.ts";
import { openTestDb, type Sql } from "../support/database-rows.ts";

const base = {
  CLERK_ISSUER: "https://example.clerk.accounts.dev",
  SUPABASE_URL: "https://ref.supabase.co",
  SESSION_JWT_SECRET: "j".repeat(32),
  SESSION_REFRESH_SECRET: "r".repeat(32),
  DATABASE_URL: "postgresql://localhost/postgres",
};
const RUN = `proptest:${randomUUID()}`;

let sql: Sql;
beforeAll(() => {
  sql = openTestDb();
});
afterAll(async () => {
  await sql`delete from sessionguard.rate_limits where key like ${`${RUN}:%`}`;
  await sql.end();
});

/** Whether check_rate_limit takes this limit and window (22023 = it refused an argument). */
async function sqlAccepts(count: number, seconds: number): Promise<boolean> {
  try {
    await sql`select sessionguard.check_rate_limit(
      array[${`${RUN}:${count}/${seconds}`}], ${count}::integer, ${seconds}::integer)`;
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "22023") return false;
    throw error;
  }
}

/**
 * Integers that crowd around each bound the parser or the SQL might have, with a third
 * of them spread below `low` (past the largest accepted value), so that both verdicts
 * come often: with only the wide range and the bounds, about 1 run in 150 drew 20
 * accepted budgets or fewer out of 400 and failed the last check by chance.
 */
const near = (points: number[], low: number) =>
  fc.oneof(
    fc.integer({ min: 0, max: 3_000_000 }),
    fc.integer({ min: 0, max: low }),
    fc.tuple(fc.constantFrom(...points), fc.integer({ min: -3, max: 3 })).map(([p, d]) => Math.max(0, p + d)),
  );
const counts = near([0, 1, 100_000, 1_000_000, 200_000, Math.floor(2_147_483_647 / IP_BUDGET_FACTOR)], 250_000);
const windows = near([0, 1, 60, 86_400, 100_000], 100_000);

describe("SESSION_RATE_LIMITS against sessionguard.check_rate_limit", () => {
  it("accepts a budget exactly when the SQL takes it and its per-ip budget", async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("start", "refresh"),
        counts,
        windows,
        async (route, count, seconds) => {
          let parsed: ReturnType<typeof parseConfig> | null = null;
          try {
            parsed = parseConfig({ ...base, SESSION_RATE_LIMITS: `${route}=${count}/${seconds}` });
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            expect((error as ConfigError).setting).toBe("SESSION_RATE_LIMITS");
          }
          const ipCount = count * IP_BUDGET_FACTOR;
          const sqlTakes = (await sqlAccepts(count, seconds)) &&
            (ipCount > 2_147_483_647 ? false : await sqlAccepts(ipCount, seconds));
          expect(parsed !== null, `${route}=${count}/${seconds}`).toBe(sqlTakes);
          if (parsed) {
            expect(parsed.rateLimits?.[route as "start" | "refresh"]).toEqual({ count, seconds });
            accepted++;
          } else refused++;
        },
      ),
      { numRuns: 400 },
    );
    // Both sides of the bounds were reached.
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  });

  it("every setting the parser accepts runs through the SQL, per route and per ip", async () => {
    let ran = 0;
    const count = fc.integer({ min: 1, max: 120_000 });
    const window = fc.integer({ min: 1, max: 90_000 });
    const setting = fc.tuple(count, window, count, window).map(([sc, ss, rc, rs]) =>
      `start=${sc}/${ss},refresh=${rc}/${rs}`
    );
    await fc.assert(
      fc.asyncProperty(setting, async (value) => {
        let limits;
        try {
          limits = parseConfig({ ...base, SESSION_RATE_LIMITS: value }).rateLimits!;
        } catch {
          return; // refused at start-up: the property above checks it was right to
        }
        ran++;
        for (const budget of [limits.start, limits.refresh]) {
          expect(await sqlAccepts(budget.count, budget.seconds), value).toBe(true);
          expect(await sqlAccepts(budget.count * IP_BUDGET_FACTOR, budget.seconds), value).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
    expect(ran).toBeGreaterThan(50);
  });
});
