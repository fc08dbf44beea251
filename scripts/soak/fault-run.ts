/**
 * Faults under load, shared by the quick vitest suite and `npm run soak`.
 *
 * The environment is a Postgres server of its own (so it can be stopped), a
 * login role for the function that is a member of `service_role` and carries a
 * 1 s `statement_timeout`, and one process of the real function on a fixed
 * port (so it can be killed and started again where clients expect it).
 *
 * A run starts families whose owners refresh continuously — racing tabs, lost
 * answers — and retry the same token after a 5xx or a network failure, as a
 * client inside the grace window does. Faults are injected one after another;
 * afterwards every answer is classified by phase and the invariants are checked.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { type FunctionServer, startFunctionServer } from "../lib/function-server.ts";
import { freePort } from "../lib/ports.ts";
import { type RestartableDatabase, startRestartableDatabase } from "./database.ts";
import { driveFamilies } from "./clients.ts";
import { type FamilyRun, probeFamilies, seededRandom, startFamilies } from "./families.ts";
import { type SharedSettings, sharedSettings } from "./instances.ts";
import { checkInvariants, type InvariantReport } from "./invariants.ts";
import { Traffic } from "./traffic.ts";

/** The faults a run can inject. */
export type FaultKind =
  /** pg_terminate_backend on every connection of the function, five times. */
  | "terminate_backends"
  /** Family rows locked by another transaction past the function role's statement_timeout. */
  | "statement_timeout"
  /** Postgres stopped (fast shutdown), down 1.5 s, started on the same port and data. */
  | "postgres_restart"
  /** The function process killed with SIGKILL and started again. */
  | "function_crash"
  /** The function process stopped with SIGTERM (graceful) and started again. */
  | "function_redeploy";

export const FAULT_KINDS: readonly FaultKind[] = [
  "terminate_backends",
  "statement_timeout",
  "postgres_restart",
  "function_crash",
  "function_redeploy",
];

/** Grace of the function in fault runs (SPEC's default). */
export const FAULT_GRACE_SECONDS = 10;
/** Clients retry a failed refresh this long: inside the grace window. */
const RETRY_FOR_MS = 8_000;
/** The function role's statement_timeout. */
const STATEMENT_TIMEOUT_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Database, issuer and function process of the fault runs. */
export interface FaultEnvironment {
  readonly db: RestartableDatabase;
  /** Superuser connection for injecting faults and checking state (no statement timeout). */
  readonly admin: postgres.Sql;
  readonly shared: SharedSettings;
  /** Base URL of the function. */
  readonly url: string;
  function(): FunctionServer;
  /** Stops the function with `signal` and starts it again on the same port. */
  restartFunction(signal: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

/** Starts the environment; `name` names the data folder. */
export async function startFaultEnvironment(name: string): Promise<FaultEnvironment> {
  const db = await startRestartableDatabase(name);
  const admin = postgres(db.url, {
    max: 4,
    onnotice: () => {},
    connection: { application_name: "sg-fault-admin" },
  });
  let shared: SharedSettings | undefined;
  try {
    const password = randomBytes(18).toString("hex");
    await admin.unsafe(`create role sg_function login password '${password}' in role service_role`);
    await admin.unsafe(`alter role sg_function set statement_timeout = '${STATEMENT_TIMEOUT_MS}ms'`);
    const functionUrl = `postgresql://sg_function:${password}@127.0.0.1:${db.port}/postgres`;
    shared = await sharedSettings(functionUrl);
    const port = await freePort();
    const settings = { ...shared.settings, SESSION_REUSE_GRACE: String(FAULT_GRACE_SECONDS), PORT: String(port) };
    let running = await startFunctionServer("session", settings);
    const sharedSettingsRef = shared;
    return {
      db,
      admin,
      shared,
      url: `http://127.0.0.1:${port}/functions/v1/session`,
      function: () => running,
      async restartFunction(signal) {
        await running.stop(signal);
        running = await startFunctionServer("session", settings);
      },
      async close() {
        await running.stop();
        await Promise.allSettled([sharedSettingsRef.stop(), admin.end({ timeout: 5 })]);
        await db.remove();
      },
    };
  } catch (error) {
    await Promise.allSettled([shared?.stop(), admin.end({ timeout: 5 })]);
    await db.remove();
    throw error;
  }
}

/** What a fault run did and found. */
export interface FaultResult {
  readonly kinds: readonly FaultKind[];
  readonly traffic: Traffic;
  /** How many times each fault struck (connections terminated, rows locked, restarts). */
  readonly injected: Readonly<Partial<Record<FaultKind, number>>>;
  readonly invariants: InvariantReport;
  readonly families: readonly FamilyRun[];
}

/** Answers a client may see in a phase (`before`, `fault:<kind>`, `recovery:<kind>`, `after`, `probe`). */
function allowed(phase: string, label: string): boolean {
  if (label === "200" || label === "aborted") return true;
  const [stage, kind] = phase.split(":");
  if (stage !== "fault" && stage !== "recovery") return false;
  if (label === "503 server_error") return true;
  // Without a process there is no HTTP answer at all: the client sees the connection fail.
  return (kind === "function_crash" || kind === "function_redeploy") && label.startsWith("network ");
}

/**
 * Runs `families` owners while the faults strike one after another (each
 * followed by 1.5 s of recovery), then checks everything.
 */
export async function runFault(
  env: FaultEnvironment,
  kinds: readonly FaultKind[],
  options: { families: number; maxInFlight: number; seed: number },
): Promise<FaultResult> {
  const traffic = new Traffic(options.maxInFlight);
  const targets = { main: [env.url] };
  traffic.phase = "start";
  const families = await startFamilies(
    traffic,
    targets,
    (userId) => env.shared.clerk.token({ sub: userId }),
    options.families,
    {},
  );
  let running = true;
  const random = seededRandom(options.seed);
  traffic.phase = "before";
  const driving = driveFamilies(traffic, targets, families, {
    more: () => running,
    raceShare: 0.15,
    lostShare: 0.1,
    pauseAfterLostMs: 1_000,
    retryForMs: RETRY_FOR_MS,
    latestAttackRound: 0,
    random,
  });
  const injected: Partial<Record<FaultKind, number>> = {};
  try {
    await sleep(500);
    for (const kind of kinds) {
      traffic.phase = `fault:${kind}`;
      injected[kind] = (injected[kind] ?? 0) + await inject(env, kind, families);
      traffic.phase = `recovery:${kind}`;
      await sleep(1_500);
    }
    traffic.phase = "after";
    await sleep(700);
  } finally {
    running = false;
    await driving;
  }
  traffic.phase = "probe";
  await probeFamilies(traffic, targets, families, RETRY_FOR_MS);

  const invariants = await checkInvariants(env.admin, families);
  for (const [phase, counts] of traffic.outcomes) {
    for (const [label, n] of counts) {
      invariants.checks++;
      if (!allowed(phase, label)) invariants.violations.push(`${n} × ${label} in phase ${phase}`);
    }
  }
  for (const kind of kinds) {
    invariants.checks++;
    if (!injected[kind]) invariants.violations.push(`${kind}: the fault never struck`);
  }
  return { kinds, traffic, injected, invariants, families };
}

async function inject(
  env: FaultEnvironment,
  kind: FaultKind,
  families: readonly FamilyRun[],
): Promise<number> {
  switch (kind) {
    case "terminate_backends": {
      let terminated = 0;
      for (let i = 0; i < 5; i++) {
        const [row] = await env.admin`
          select count(*) filter (where pg_terminate_backend(pid))::int as n
          from pg_stat_activity where application_name = 'sessionguard'`;
        terminated += row.n;
        await sleep(200);
      }
      return terminated;
    }
    case "statement_timeout": {
      // Rotations of these families wait on the row lock until their statement times out.
      const ids = families.slice(0, 3).map((family) => family.id);
      let locked = 0;
      await env.admin.begin(async (tx) => {
        locked =
          (await tx`select id from sessionguard.families where id = any(${ids}::uuid[]) for update`).length;
        await sleep(STATEMENT_TIMEOUT_MS * 2.5);
      });
      return locked;
    }
    case "postgres_restart":
      await env.db.stop();
      await sleep(1_500);
      await env.db.start();
      return 1;
    case "function_crash":
      await env.restartFunction("SIGKILL");
      return 1;
    case "function_redeploy":
      await env.restartFunction("SIGTERM");
      return 1;
  }
}

/** The counts of a fault run as lines of text. */
export function formatFault(result: FaultResult): string {
  const { traffic, invariants } = result;
  const struck = Object.entries(result.injected).map(([kind, n]) => `${kind} ${n}×`).join(", ");
  const lines = [`faults: ${struck}; ${result.families.length} families, requests sent: ${traffic.sent}`];
  lines.push(...traffic.phaseLines());
  lines.push(
    `  rotations observed: ${invariants.rotationsObserved}, unresolved drops: ${invariants.unresolvedDrops}, ` +
      `revoked: ${invariants.revokedFound}`,
    `  invariant checks: ${invariants.checks}, violations: ${invariants.violations.length}`,
  );
  for (const violation of invariants.violations.slice(0, 20)) lines.push(`    ! ${violation}`);
  return lines.join("\n");
}
