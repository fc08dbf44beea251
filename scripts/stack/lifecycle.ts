/**
 * What the local stack's processes leave behind and how they are stopped: the
 * stack's folder (`.local/stack-<name>`) with its run file (`running.json`), the
 * embedded server's data folder and its `postmaster.pid`, refusing a second stack of
 * one name, stopping the Postgres of a stack that was killed, and stopping what this
 * run started in reverse order (stack.ts uses all of it).
 */
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { localDir } from "../lib/local-postgres.ts";
import { isAlive, postmasterPid } from "../lib/process.ts";


/** The PostgreSQL major version the stack's own (embedded) server runs. */
export const PG_VERSION = 17;

/** Folder of a named stack's keys and run file. */
export function stackDir(name: string): string {
  return path.join(localDir, `stack-${name}`);
}

/** The data folder the harness uses for a named embedded server. */
export function dataDir(name: string): string {
  return path.join(localDir, `pg${PG_VERSION}-${name}`, "data");
}

/**
 * Stops, in reverse order, what was started; anything added after `stopAll()` is
 * stopped at once (a Ctrl-C in the middle of start-up).
 */
export class Stoppers {
  private readonly stops: Array<() => Promise<void>> = [];
  private stopping: Promise<void> | undefined;
  add(stop: () => Promise<void>): void {
    if (this.stopping) void stop();
    else this.stops.unshift(stop);
  }
  stopAll(): Promise<void> {
    return this.stopping ??= (async () => {
      for (const stop of this.stops) await stop().catch(() => {});
    })();
  }
}

/** Two `npm start`s of one data name would share a data folder: refuse the second. */
export async function refuseSecondStack(dir: string, name: string): Promise<void> {
  const run = await readRunFile(dir);
  if (run && isAlive(run.pid)) {
    throw new Error(
      `a stack named "${name}" already runs (pid ${run.pid}, ${run.url}); stop it, or set SG_DATA_NAME and SG_PORT`,
    );
  }
}

/**
 * A stack killed without a chance to clean up (SIGKILL) leaves its Postgres running;
 * its gateway stops by itself when its stdin closes. Stop that Postgres so this run
 * can use the data folder.
 */
export async function stopOrphanedPostgres(dir: string, name: string, progress: (line: string) => void) {
  const run = await readRunFile(dir);
  if (!run) return;
  const pid = await postmasterPid(dataDir(name));
  if (pid !== null && pid === run.postgres_pid && isAlive(pid)) {
    progress(`postgres  stopping PostgreSQL (pid ${pid}) left running by a stack that was killed`);
    process.kill(pid, "SIGINT"); // fast shutdown
    for (let i = 0; i < 200 && isAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await rm(path.join(dir, "running.json"), { force: true });
}

interface RunFile {
  pid: number;
  gateway_pid: number;
  postgres_pid: number | null;
  url: string;
}

async function readRunFile(dir: string): Promise<RunFile | null> {
  try {
    return JSON.parse(await readFile(path.join(dir, "running.json"), "utf8")) as RunFile;
  } catch {
    return null;
  }
}
