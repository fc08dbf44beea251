/**
 * A streaming physical replica of a local PostgreSQL 15, on the same machine, as a
 * Supabase read replica is one: `pg_basebackup -R` copies the primary and writes
 * `standby.signal` and `primary_conninfo`, then the copy starts as a hot standby that
 * replays the primary's WAL as it streams in. Read-only; `pg_is_in_recovery()` is true.
 *
 * Like scripts/lib/postgres-servers.ts, as root every server command runs as the OS user
 * `postgres`, which owns the data folder. The primary must be Debian's PostgreSQL 15 (the
 * replica's binaries must be the same major version) and allow replication connections
 * from 127.0.0.1 (initdb's default pg_hba.conf does, `wal_level = replica` is the default).
 */
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { freePort } from "./ports.ts";
import { repoRoot } from "./process.ts";

const run = promisify(execFile);
const PG15_BIN = "/usr/lib/postgresql/15/bin";
const isRoot = () => process.getuid?.() === 0;
const asPg = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  isRoot()
    ? run("runuser", ["-u", "postgres", "--", "env", ...envArgs(env), cmd, ...args])
    : run(cmd, args, { env: { ...process.env, ...env } });

/** Only the PG* variables reach the child through runuser (it resets the environment). */
function envArgs(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env).filter(([k, v]) => k.startsWith("PG") && v !== undefined).map(([k, v]) =>
    `${k}=${v}`
  );
}

/** A running replica. */
export interface Replica {
  /** postgresql://…@127.0.0.1:<port>/postgres, read-only. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Copies the primary at `primaryUrl` and starts the copy as a streaming hot standby. */
export async function startReplica(primaryUrl: string): Promise<Replica> {
  const primary = new URL(primaryUrl);
  const port = await freePort();
  const dir = path.join(repoRoot, ".local", `pg15-replica-${process.pid}-${port}`);
  const dataDir = path.join(dir, "data");
  await fs.mkdir(dir, { recursive: true });
  if (isRoot()) await run("chown", ["postgres", dir]);
  const pgCtl = path.join(PG15_BIN, "pg_ctl");
  const stopArgs = ["-D", dataDir, "-m", "fast", "-w", "stop"];
  // pg_ctl detaches the server: stop it even if the caller forgets or crashes.
  const onExit = () => {
    try {
      execFileSync(
        isRoot() ? "runuser" : pgCtl,
        isRoot() ? ["-u", "postgres", "--", pgCtl, ...stopArgs] : stopArgs,
        {
          stdio: "ignore",
        },
      );
    } catch { /* already stopped */ }
  };
  process.once("exit", onExit);
  const stop = async () => {
    process.removeListener("exit", onExit);
    await asPg(pgCtl, stopArgs).catch(() => {});
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await asPg(path.join(PG15_BIN, "pg_basebackup"), [
      "-h",
      primary.hostname,
      "-p",
      primary.port,
      "-U",
      decodeURIComponent(primary.username),
      "-D",
      dataDir,
      "-R",
      "-X",
      "stream",
      "-c",
      "fast",
      "--no-sync",
    ], { PGPASSWORD: decodeURIComponent(primary.password) });
    await asPg(pgCtl, [
      "-D",
      dataDir,
      "-l",
      path.join(dir, "server.log"),
      "-o",
      `-p ${port}`,
      "-w",
      "-t",
      "60",
      "start",
    ]);
  } catch (error) {
    const log = await fs.readFile(path.join(dir, "server.log"), "utf8").catch(() => "");
    await stop();
    throw new Error(`replica did not start: ${(error as Error).message}\n${log}`);
  }
  const url = new URL(primaryUrl);
  url.port = String(port);
  const check = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    const [row] = await check`select pg_is_in_recovery() as standby`;
    if (row?.standby !== true) throw new Error("the copy is not in recovery: not a standby");
  } catch (error) {
    await check.end();
    await stop();
    throw error;
  }
  await check.end();
  return { url: url.toString(), stop };
}

