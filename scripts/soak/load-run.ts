/**
 * The load run, shared by the quick vitest suite and `npm run soak`: many
 * families refreshed at once by owners, racing tabs and lost answers, with
 * thieves and forgers among them, against two long-grace instances and one
 * short-grace instance of the real function on one database; then a probe of
 * every family and the invariants of invariants.ts.
 */
import postgres from "postgres";
import { driveFamilies } from "./clients.ts";
import { type AttackKind, type FamilyRun, probeFamilies, seededRandom, startFamilies } from "./families.ts";
import { sharedSettings, startInstances } from "./instances.ts";
import { checkInvariants, type InvariantReport } from "./invariants.ts";
import { Traffic } from "./traffic.ts";

/** Size and mix of a load run. */
export interface LoadOptions {
  readonly databaseUrl: string;
  readonly families: number;
  /** Owner rounds per family (each 1-4 requests). */
  readonly rounds: number;
  readonly attacks: Partial<Record<AttackKind, number>>;
  /** Requests in flight at most. */
  readonly maxInFlight: number;
  /** Grace of the instance where "window" thieves replay, in seconds. */
  readonly shortGraceSeconds: number;
  readonly seed: number;
}

/** What a load run did and found. */
export interface LoadResult {
  readonly options: LoadOptions;
  readonly traffic: Traffic;
  readonly invariants: InvariantReport;
  readonly families: readonly FamilyRun[];
  readonly elapsedMs: number;
}

/** Long grace of the main instances: honest retries land well inside it even under load. */
export const MAIN_GRACE_SECONDS = 10;

/** Runs the load and checks the invariants; stops everything it started. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const began = performance.now();
  const shared = await sharedSettings(options.databaseUrl);
  const sql = postgres(options.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    const servers = await startInstances(shared, [
      { SESSION_REUSE_GRACE: String(MAIN_GRACE_SECONDS) },
      { SESSION_REUSE_GRACE: String(MAIN_GRACE_SECONDS) },
      { SESSION_REUSE_GRACE: String(options.shortGraceSeconds) },
    ]);
    try {
      const targets = {
        main: [servers[0].url, servers[1].url],
        shortGrace: { url: servers[2].url, graceSeconds: options.shortGraceSeconds },
      };
      const traffic = new Traffic(options.maxInFlight);
      traffic.phase = "start";
      const families = await startFamilies(
        traffic,
        targets,
        (userId) => shared.clerk.token({ sub: userId }),
        options.families,
        options.attacks,
      );
      traffic.phase = "load";
      const random = seededRandom(options.seed);
      await driveFamilies(traffic, targets, families, {
        more: (round) => round < options.rounds,
        raceShare: 0.15,
        lostShare: 0.15,
        pauseAfterLostMs: 1_000,
        retryForMs: 0,
        latestAttackRound: options.rounds - 3,
        random,
      });
      traffic.phase = "probe";
      await probeFamilies(traffic, targets, families);
      const invariants = await checkInvariants(sql, families);
      for (const server of servers) {
        if (/"level":"error"/.test(server.log())) {
          invariants.violations.push(`an instance logged an error:\n${server.log().slice(0, 2000)}`);
        }
      }
      return { options, traffic, invariants, families, elapsedMs: performance.now() - began };
    } finally {
      await Promise.allSettled(servers.map((server) => server.stop()));
    }
  } finally {
    await Promise.allSettled([shared.stop(), sql.end({ timeout: 5 })]);
  }
}

/** The counts of a load run as lines of text. */
export function formatLoad(result: LoadResult): string {
  const { traffic, invariants, options } = result;
  const lines = [
    `load: ${options.families} families (${JSON.stringify(options.attacks)}), ${options.rounds} rounds, ` +
    `seed ${options.seed}, ${(result.elapsedMs / 1000).toFixed(1)} s`,
    `  requests sent: ${traffic.sent}`,
  ];
  lines.push(...traffic.phaseLines());
  const serverErrors = [...traffic.serverErrors().values()].reduce((a, b) => a + b, 0);
  lines.push(
    `  5xx answers: ${serverErrors}`,
    `  rotations observed: ${invariants.rotationsObserved}, 200 answers: ${invariants.successfulAnswers}, ` +
      `tokens with a success: ${invariants.presentedWithSuccess}, unresolved drops: ${invariants.unresolvedDrops}`,
    `  revoked: ${invariants.revokedFound} found, ${invariants.revokedExpected} expected`,
    `  invariant checks: ${invariants.checks}, violations: ${invariants.violations.length}`,
  );
  for (const violation of invariants.violations.slice(0, 20)) lines.push(`    ! ${violation}`);
  return lines.join("\n");
}
