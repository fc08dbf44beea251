/** What every scenario gets: the mode's sizes and durations, the database and the tools. */
import type { BenchDatabase } from "./database.ts";

export interface Scale {
  /** pgbench run length per measurement, s. */
  readonly pgbenchSeconds: number;
  /** HTTP load run length per measurement, s. */
  readonly httpSeconds: number;
  /** Load before the first measured run of each server, s. */
  readonly warmupSeconds: number;
  readonly dbClients: readonly number[];
  readonly dbFamilies: number;
  readonly httpConnections: readonly number[];
  readonly rlsRows: number;
  readonly rlsRounds: number;
  readonly storageFamilies: number;
  readonly storageRotations: number;
  /** Live and revoked families of the two growth measurements. */
  readonly growth: readonly { readonly live: number; readonly revoked: number }[];
  readonly growthSeconds: number;
  readonly microIterations: number;
  /** Alternating rounds of the peer comparison (scenario 9). */
  readonly peerRounds: number;
  /** Rotations run after VACUUM and CHECKPOINT before the growth measurements (steady state), s. */
  readonly growthWarmupSeconds: number;
}

export const FULL: Scale = {
  pgbenchSeconds: 8, httpSeconds: 6, warmupSeconds: 3, growthSeconds: 6, growthWarmupSeconds: 20,
  dbClients: [1, 8, 32], dbFamilies: 10_000, httpConnections: [1, 8, 32, 64],
  rlsRows: 10_000, rlsRounds: 300, storageFamilies: 10_000, storageRotations: 100,
  growth: [{ live: 10_000, revoked: 100_000 }, { live: 1_000_000, revoked: 10_000_000 }],
  microIterations: 2_000, peerRounds: 3,
};

/** Small sizes and 1-second runs: a smoke test of the whole bench (growthSeconds 3: 32 pgbench connections can take most of a second to open). */
export const QUICK: Scale = {
  pgbenchSeconds: 1, httpSeconds: 1, warmupSeconds: 0.5, growthSeconds: 3, growthWarmupSeconds: 3,
  dbClients: [1, 8, 32], dbFamilies: 1_000, httpConnections: [1, 8, 32, 64],
  rlsRows: 10_000, rlsRounds: 20, storageFamilies: 1_000, storageRotations: 10,
  growth: [{ live: 1_000, revoked: 10_000 }, { live: 10_000, revoked: 100_000 }],
  microIterations: 200, peerRounds: 1,
};

export interface Context {
  readonly quick: boolean;
  readonly scale: Scale;
  readonly db: BenchDatabase;
  /** Path of the pgbench binary. */
  readonly pgbench: string;
}
