/**
 * Run a command against a freshly prepared local database.
 *
 *   tsx scripts/with-db.ts [--version 15|17] [--name N] [--keep] -- <command> [args...]
 *
 * Starts a throwaway server through scripts/lib/local-postgres.ts (stand-in, pgTAP, migrations),
 * runs the command with SG_DB_URL set to its URL, stops the server and exits with the
 * command's status. `--keep` uses the named, reusable data folder instead.
 * With DATABASE_URL set, that server is used and left running.
 */
import { spawn } from "node:child_process";
import os from "node:os";
import { startDatabase } from "./lib/local-postgres.ts";

function parse(argv: string[]) {
  const sep = argv.indexOf("--");
  if (sep < 0 || sep === argv.length - 1) {
    throw new Error("usage: with-db.ts [--version 15|17] [--name N] [--keep] -- <command> [args...]");
  }
  const own = argv.slice(0, sep);
  const opts: { version: 15 | 17; name: string; keep: boolean } = { version: 17, name: "test", keep: false };
  for (let i = 0; i < own.length; i++) {
    const a = own[i];
    if (a === "--version") {
      const v = Number(own[++i]);
      if (v !== 15 && v !== 17) throw new Error(`--version must be 15 or 17, not ${own[i]}`);
      opts.version = v;
    } else if (a === "--name") opts.name = own[++i] ?? opts.name;
    else if (a === "--keep") opts.keep = true;
    else throw new Error(`unknown option ${a}`);
  }
  const command = argv[sep + 1] as string;
  return { ...opts, command, args: argv.slice(sep + 2) };
}

const opts = parse(process.argv.slice(2));
const db = await startDatabase({
  version: opts.version,
  name: opts.name,
  ephemeral: !opts.keep,
});
const p = db.prepared;
console.error(
  `[with-db] PostgreSQL ${db.version} ready: start ${db.timings.startMs} ms, ` +
    `stand-in ${p?.supabase ? "skipped (Supabase)" : `${p?.timings.standinMs} ms`}, ` +
    `db push ${p?.timings.migrationsMs} ms`,
);

const child = spawn(opts.command, opts.args, {
  stdio: "inherit",
  env: { ...process.env, SG_DB_URL: db.url },
});
const forward = (sig: NodeJS.Signals) => child.kill(sig);
process.on("SIGINT", forward);
process.on("SIGTERM", forward);
const code: number = await new Promise((resolve) => {
  child.on("error", (err) => {
    console.error(`[with-db] ${opts.command}: ${err.message}`);
    resolve(127);
  });
  child.on("exit", (c, sig) => resolve(c ?? 128 + (sig ? os.constants.signals[sig] : 1)));
});
await db.stop();
process.exit(code);
