/**
 * The shape of a run's results, as bench/results/<date>.json stores them: what each
 * scenario returns and what the report reads. Types only, imported by both sides, so
 * scenarios and report never import each other.
 */
import type { Part } from "./cpu-profile.ts";
import type { Machine } from "./machine.ts";

/** One HTTP load run (bench/lib/load.ts): only 200 answers count. */
export interface LoadResult {
  readonly target: string;
  readonly connections: number;
  readonly seconds: number;
  readonly ok: number;
  /** Non-200 answers by status, plus "error" and "timeout" for socket trouble. */
  readonly errors: Readonly<Record<string, number>>;
  /** The first few non-200 bodies, to tell why. */
  readonly errorSamples: readonly string[];
  readonly rps: number;
  readonly latencyMs: { readonly mean: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

/** A load run with the CPU and memory sampled around it. */
export interface MeasuredRun extends LoadResult {
  /**
   * CPU µs per successful request: the server process; Postgres, all processes; of that,
   * the server's own connections (application_name "sessionguard"); the load generator.
   */
  readonly cpuUsPerRequest: { readonly server: number; readonly postgres: number; readonly serverBackends: number; readonly loadGenerator: number };
  readonly rss: { readonly peakKb: number; readonly meanKb: number };
}

/** One pgbench run (bench/lib/pgbench.ts). */
export interface PgbenchResult {
  readonly clients: number;
  readonly seconds: number;
  readonly transactions: number;
  readonly failed: number;
  /** Transactions per second, connection time excluded. */
  readonly tps: number;
  readonly latencyMs: number;
}

/** Scenario 1. */
export interface DatabaseResult {
  readonly families: number;
  readonly levels: readonly {
    readonly clients: number;
    readonly insert: PgbenchResult;
    readonly rotate: PgbenchResult;
    /** Rotations the database saw (sum of generations moved), to check pgbench's count. */
    readonly rotationsCommitted: number;
    /** rotate tps ÷ insert tps. */
    readonly ratio: number;
    /** refresh_session with both rate limits counted, and its tps ÷ insert tps. */
    readonly refresh: PgbenchResult;
    readonly refreshRatio: number;
  }[];
  /** Server µs per call of each part of a rotation, each call committed without waiting for the disk. */
  readonly parts: Readonly<Record<RotationPart, number>>;
}
export type RotationPart =
  "commit" | "insert" | "rotateSession" | "argumentChecks" | "requestContext" | "lockRow" | "updateRow" | "updateRowNoTrigger";

/** Scenarios 2 and 6: the session function against the select-1 baseline. */
export interface HttpResult {
  readonly seconds: number;
  readonly levels: readonly {
    readonly connections: number;
    readonly baseline: MeasuredRun;
    readonly refresh: MeasuredRun;
    /** refresh rps ÷ baseline rps; refresh p99 ÷ p50. */
    readonly ratio: number;
    readonly tail: number;
  }[];
  /** The same refresh load with HS256 access tokens (SESSION_JWT_SECRET) at 32 connections. */
  readonly hs256: MeasuredRun | null;
  readonly idleRssKb: { readonly sessionFunction: number; readonly baseline: number };
  readonly finalRssKb: { readonly sessionFunction: number };
}

/** Scenario 4. */
export interface RlsResult {
  readonly rows: number;
  readonly rounds: number;
  readonly variants: Readonly<Record<"plain" | "guarded" | "plpgsql" | "unwrapped", RlsVariant>>;
  /** How many times the unwrapped variant was timed. */
  readonly unwrappedRuns: number;
  /** guarded median ÷ plain median. */
  readonly ratio: number;
}
export interface RlsVariant {
  readonly policy: string;
  readonly medianMs: number;
  readonly p90Ms: number;
  /** Rows visible while the session lives, and after it is revoked. */
  readonly rowsLive: number;
  readonly rowsRevoked: number;
  /** Executions of the helper in one select (function statistics), when countable. */
  readonly helperCalls: number | null;
}

/** Scenario 5: sizes of sessionguard.families. */
export interface StorageResult {
  readonly families: number;
  readonly rotations: number;
  readonly fresh: Sizes;
  /** Raw sizes after 1, 2, 5, 10, 20, 50 and 100 rotations each. */
  readonly checkpoints: readonly { readonly rotations: number; readonly raw: Sizes }[];
  readonly afterOne: { readonly raw: Sizes; readonly vacuumed: Sizes };
  readonly afterMany: { readonly raw: Sizes; readonly vacuumed: Sizes };
  /** vacuumed total after R ÷ vacuumed total after 1. */
  readonly growth: number;
}
export interface Sizes {
  readonly tableBytes: number;
  readonly indexBytes: number;
  readonly totalBytes: number;
  /** Approximate (cumulative statistics). */
  readonly deadTuples: number;
  /** Rows in sessionguard.events: rotation must write none. */
  readonly events: number;
}

/** Scenarios 7 and 7b: every table size, small first. */
export interface GrowthResult {
  readonly phases: readonly GrowthPhase[];
  /** Large-table value ÷ small-table value. */
  readonly rotateRatio: number;
  readonly p99Ratio: number;
}
export interface GrowthPhase {
  readonly live: number;
  readonly revoked: number;
  readonly tableBytes: number;
  readonly loadSeconds: number;
  /** Right after the load and a CHECKPOINT. */
  readonly rotateCold: PgbenchResult;
  readonly coldStats: WalStats;
  /** Steady state: after VACUUM, CHECKPOINT and a warm-up. */
  readonly rotate: PgbenchResult;
  readonly steadyStats: WalStats;
  readonly refresh: MeasuredRun;
  readonly refreshWithPurge: MeasuredRun;
  /** What purge did during the second refresh run. */
  readonly purge: {
    readonly batches: number; readonly deleted: number; readonly batchMs: { readonly p50: number; readonly max: number }; readonly rowsPerSecond: number;
  };
}
/** Per rotation, from the server's statistics around one pgbench run. */
export interface WalStats {
  readonly walRecords: number;
  readonly fullPageImages: number;
  readonly walBytes: number;
  /** Shared-buffer misses per rotation, and their share of all block accesses. */
  readonly blocksRead: number;
  readonly missRatio: number;
  /** Share of the family-row updates that were HOT. */
  readonly hotShare: number;
}

/** Scenario 8: µs per operation, measured in Deno one at a time, and a bare Deno.serve. */
export interface CostsResult {
  readonly micro: {
    readonly iterations: number;
    /** The store method timed as the SQL round trip. */
    readonly storeMethod: string;
    readonly macMint: Timing;
    readonly macVerify: Timing;
    /** ES256 as the function is configured, and each implementation alternated. */
    readonly es256: Timing;
    readonly es256Noble: Timing;
    readonly es256Webcrypto: Timing;
    readonly hs256: Timing;
    readonly ed25519: Timing;
    readonly json: Timing;
    /** The rotation round trip without and with prepared statements. */
    readonly rotate: Timing;
    readonly rotatePrepared: Timing;
    readonly selectOne: Timing;
    readonly selectOnePrepared: Timing;
    /** Client CPU per call with 64 calls in flight (the loop never idles), µs. */
    readonly clientCpuBusy: {
      readonly rotatePrepared: number; readonly rotateUnprepared: number; readonly selectOnePrepared: number; readonly selectOneUnprepared: number;
    };
  };
  readonly bareHttp: { readonly one: MeasuredRun; readonly many: MeasuredRun };
}
/** µs per call: wall time (mean, p50, p99) and CPU of the Deno process. */
export interface Timing { readonly mean: number; readonly p50: number; readonly p99: number; readonly cpu: number }

export type PeerName = "noble" | "webcrypto" | "production" | "memory";
/** Scenarios 3, 9 and 10: oidc-provider in memory at every level, then alternating rounds at 32. */
export interface PeersResult {
  readonly connections: number;
  readonly seconds: number;
  /** The in-memory peer at each HTTP level (scenario 3), and its idle RSS. */
  readonly levels: readonly { readonly connections: number; readonly run: MeasuredRun }[];
  readonly idleRssKb: number;
  readonly rounds: readonly Readonly<Record<PeerName, MeasuredRun>>[];
  /** Median over rounds of each server's figures. */
  readonly medians: Readonly<
    Record<PeerName, { rps: number; p50: number; p99: number; serverCpuUs: number; postgresCpuUs: number }>
  >;
  /** Medians of per-round ratios (sessionguard is the noble signer). */
  readonly ratios: { readonly rpsVsProduction: number; readonly p99VsProduction: number; readonly rpsVsMemory: number; readonly nobleVsWebcrypto: number };
  /** SQL per refresh: sessionguard prepared (as `auto` picks on a direct URL), unprepared, production peer. */
  readonly sql: { readonly ours: SqlPerRefresh; readonly oursUnprepared: SqlPerRefresh; readonly production: SqlPerRefresh };
}
export interface SqlPerRefresh { readonly refreshes: number; readonly statements: number; readonly parses: number; readonly commits: number }

/** Scenario 11: CPU per refresh without the signature, and where it goes. */
export interface OverheadResult {
  readonly connections: number;
  readonly seconds: number;
  readonly rounds: readonly { readonly baseline: CpuPerRequest; readonly refresh: CpuPerRequest }[];
  /** Medians over rounds. */
  readonly baseline: CpuPerRequest;
  readonly refresh: CpuPerRequest;
  readonly profiled: { readonly baseline: ProfiledRun; readonly refresh: ProfiledRun };
  /** The signature's share of the profile times the rounds' JavaScript-thread median. */
  readonly signatureUs: number;
  /** `refresh.process − signatureUs`, and that ÷ `baseline.process` (target ≤ 1.5). */
  readonly withoutSignatureUs: number;
  readonly ratio: number;
}
/** CPU per successful request of one loaded run, µs: the whole process and its JavaScript thread. */
export interface CpuPerRequest { readonly rps: number; readonly process: number; readonly mainThread: number }
/** µs of JavaScript-thread CPU per request, by part, from one profiled run. */
export interface ProfiledRun extends CpuPerRequest {
  readonly busySamples: number;
  readonly parts: Readonly<Record<Part, number>>;
}

export interface Scenarios {
  database?: DatabaseResult;
  http?: HttpResult;
  rls?: RlsResult;
  storage?: StorageResult;
  growth?: GrowthResult;
  costs?: CostsResult;
  peers?: PeersResult;
  overhead?: OverheadResult;
}

export interface TargetRow { readonly scenario: string; readonly figure: string; readonly value: number; readonly target: string; readonly met: boolean }

export interface Results {
  readonly format: 2;
  readonly date: string;
  readonly startedAt: string;
  readonly quick: boolean;
  readonly durationSeconds: number;
  /** 1, 5 and 15-minute load averages when the run started and ended. */
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly machine: Machine;
  readonly scenarios: Scenarios;
  /** Scenarios that failed, with the error. */
  readonly failures: Readonly<Record<string, string>>;
  readonly targets: readonly TargetRow[];
}
