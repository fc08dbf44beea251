/**
 * Faults under load (quick mode; `npm run soak` repeats them at full size).
 * Each test keeps 40 families refreshing while faults strike one after
 * another: the function crashed and redeployed; a statement timeout;
 * connections terminated and Postgres restarted. Clients retry the same token after a failure, inside the grace
 * window. Every answer must be a 200 or, during the fault, a clean 503
 * `server_error` with Retry-After (or no answer at all while the process is
 * gone); afterwards the database must agree with every answer the clients got,
 * and every family must still rotate: nothing half-done, nothing lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FaultEnvironment,
  type FaultKind,
  formatFault,
  runFault,
  startFaultEnvironment,
} from "../../../scripts/soak/fault-run.ts";

const seed = Number(process.env.SG_LOAD_SEED ?? Date.now() % 1_000_000);

describe.skipIf(!!process.env.DATABASE_URL)("faults under load", () => {
  let env: FaultEnvironment;
  beforeAll(async () => {
    env = await startFaultEnvironment(`faults-${process.pid}`);
  }, 60_000);
  afterAll(async () => {
    await env?.close();
  });

  const cases: [FaultKind[], string][] = [
    [
      ["function_crash", "function_redeploy"],
      "the function process killed (SIGKILL), then stopped (SIGTERM), and restarted",
    ],
    [["statement_timeout"], "rotations waiting on a row lock past the role's statement_timeout"],
    [
      ["terminate_backends", "postgres_restart"],
      "connections terminated, then Postgres stopped and restarted on the same port and data",
    ],
  ];
  for (const [kinds, title] of cases) {
    it(
      `${title}: clean 503s, recovery, nothing lost`,
      async () => {
        const result = await runFault(env, kinds, { families: 40, maxInFlight: 32, seed });
        console.log(formatFault(result));
        expect(result.invariants.violations).toEqual([]);
      },
      90_000,
    );
  }
});
