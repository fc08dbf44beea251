/**
 * How long from revoking a session to its app's Realtime channels being closed, end to
 * end: `npm run bench:realtime-close [-- --samples 50]`. Prints a report; asserts nothing.
 *
 * No Realtime server runs here (no Docker), so the channels are served by a stand-in of
 * Realtime's client protocol and authorization rules (bench/servers/realtime-close.ts, run
 * by Deno, which cites where each rule comes from), on a throwaway PostgreSQL with
 * sessionguard's migrations, the Realtime tables' stand-in (supabase/tests/stand-ins/
 * realtime.psql) and the example channel policies (examples/surfaces). The stand-in
 * learns of new realtime.messages rows by NOTIFY where Realtime uses logical replication.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import postgres from "postgres";
import { repoRoot, startDatabase } from "./lib/local-postgres.ts";

const at = process.argv.indexOf("--samples");
const SAMPLES = at < 0 ? 50 : Number(process.argv[at + 1]);
if (!Number.isInteger(SAMPLES) || SAMPLES < 1 || SAMPLES > 1000) throw new Error("--samples must be 1..1000");

const db = await startDatabase({ ephemeral: true, name: "realtime-close" });
try {
  await psql(db.url, path.join(repoRoot, "supabase/tests/stand-ins/realtime.psql"));
  for (
    const example of ["20261207120100_private_user_channel.sql", "20261207120200_session_events_channel.sql"]
  ) {
    await psql(db.url, path.join(repoRoot, "examples/surfaces/supabase/migrations", example));
  }
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  // Realtime reads realtime.messages by logical replication; the stand-in by this NOTIFY.
  await sql.unsafe(`
    create function realtime.standin_notify() returns trigger language plpgsql as $f$
    begin
      perform pg_notify('realtime_standin', json_build_object('topic', new.topic, 'event', new.event,
        'payload', new.payload, 'private', new.private, 'id', new.id)::text);
      return null;
    end $f$;
    create trigger messages_standin_notify after insert on realtime.messages
      for each row when (new.extension = 'broadcast' and new.event is not null)
      execute function realtime.standin_notify();`);
  await sql.end();
  const { heard, left, closed } = await runDeno(db.url);
  console.log(report(heard, left, closed));
} finally {
  await db.stop();
}

function psql(url: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("psql", [url, "-qX", "-v", "ON_ERROR_STOP=1", "-f", file], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (chunk) => (err += chunk));
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`psql ${file}: ${err}`))));
  });
}

function runDeno(url: string): Promise<{ heard: number[]; left: number[]; closed: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, "node_modules/.bin/deno"), [
      "run",
      "--quiet",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "bench/servers/realtime-close.ts",
    ], {
      cwd: repoRoot,
      env: {
        ...process.env,
        DATABASE_URL: url,
        SAMPLES: String(SAMPLES),
        RUST_BACKTRACE: "0",
        NO_COLOR: "1",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.once("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{")) {
        return reject(new Error(`the stand-in run failed (${code}):\n${out}`));
      }
      resolve(JSON.parse(line) as { heard: number[]; left: number[]; closed: number[] });
    });
  });
}

function report(heard: number[], left: number[], closed: number[]): string {
  const row = (label: string, samples: number[]) => {
    const missing = samples.filter((ms) => !Number.isFinite(ms)).length;
    const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;
    return `| ${label} | ${samples.length} | ${q(0.5).toFixed(1)} | ${q(0.99).toFixed(1)} | ${
      (sorted.at(-1) ?? NaN).toFixed(1)
    } | ${missing} |`;
  };
  return [
    "Revoke to closed subscription, ms from sending revoke_session",
    "",
    "| until | samples | p50 | p99 | max | not within 10 s |",
    "|---|---|---|---|---|---|",
    row("the app hears session_revoked", heard),
    row("every channel left (leave acknowledged)", left),
    row("and the socket closed", closed),
    "",
    "Realtime-protocol stand-in (bench/servers/realtime-close.ts) on one machine; supabase-js client joined to",
    "sessionguard:<user id> and one app channel, both private; delivery by NOTIFY instead of logical replication.",
  ].join("\n");
}
