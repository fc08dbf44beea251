/**
 * The local stack: PostgreSQL (embedded 17, or DATABASE_URL) prepared by
 * scripts/lib/local-postgres.ts, keys generated on first run, and one Deno process running dev/gateway.ts.
 *
 * `startLocalStack()` starts the database and the gateway side by side, lets the
 * gateway bind its port once the database is migrated, and resolves then; `stop()` (also after a failed start) stops every process it
 * started: the gateway first, then Postgres. The ports are chosen in ports.ts; the run
 * file, a second or killed stack and the stopping order are lifecycle.ts's.
 */
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Database, localDir, prepareDatabase, type PrepareResult, startDatabase } from "../lib/local-postgres.ts";
import { buildPage, pageBuildDir } from "../../web/build.ts";
import { mergeSettings, readDotenv, type Settings, unreadSettings } from "./env.ts";
import { LOCAL_PUBLISHABLE_KEY } from "../../dev/data-api/handler.ts";
import { applyExampleTables } from "./example-tables.ts";
import { applyRealtimeTables } from "./realtime-tables.ts";
import { type GatewayProcess, startGateway } from "./gateway.ts";
import { loadOrCreateKeys } from "./keys.ts";
import { dataDir, PG_VERSION, refuseSecondStack, stackDir, stopOrphanedPostgres, Stoppers } from "./lifecycle.ts";
import { choosePort } from "../lib/ports.ts";
import { postmasterPid } from "../lib/process.ts";
import { readSupabaseLocal, supabaseLocalSettings } from "./supabase-local.ts";
import { functionSettings, type StackUrls, stackUrls } from "./settings.ts";

export { stackDir, Stoppers } from "./lifecycle.ts";

export const DEFAULT_PORT = 54321;
export const DEFAULT_DB_PORT = 54322;

export interface StackOptions {
  /** Repository root. */
  readonly root: string;
  /** Wipe the database's data folder first (not the keys). */
  readonly reset?: boolean;
  /** The process environment; `.env` at the root fills what it lacks. */
  readonly environment?: NodeJS.ProcessEnv;
  /** Progress lines. */
  readonly progress?: (line: string) => void;
  /** The gateway's own output. */
  readonly gatewayLine?: (line: string, stream: "stdout" | "stderr") => void;
}

export interface LocalStack {
  readonly name: string;
  readonly urls: StackUrls;
  /** The database URL the functions use. */
  readonly databaseUrl: string;
  /** Our own embedded server (false: DATABASE_URL). */
  readonly ownDatabase: boolean;
  readonly prepared: PrepareResult;
  /** The development issuer is on (no CLERK_ISSUER). */
  readonly devIssuer: boolean;
  /** The configured Clerk issuer (the development issuer's URL when it is on). */
  readonly clerkIssuer: string;
  /** supabase/functions/clerk-webhook is mounted. */
  readonly webhook: boolean;
  readonly keysFile: string;
  readonly keysCreated: boolean;
  /** Settings the user gave (environment or .env), by name only. */
  readonly overridden: readonly string[];
  /** What `/rest/v1` serves: the stand-in, a real Data API (its URL), or nothing. */
  readonly dataApi: { readonly kind: "stand-in" | "upstream" | "off"; readonly upstream?: string; readonly apiKey: string };
  /** Whether the gateway serves the Realtime stand-in at /realtime/v1/websocket. */
  readonly realtime: boolean;
  readonly pids: { readonly stack: number; readonly gateway: number; readonly postgres: number | null };
  readonly timings: { readonly totalMs: number; readonly databaseMs: number; readonly gatewayMs: number };
  /** Resolves when the gateway exits on its own (a crash), with its exit code. */
  readonly gatewayExited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts the stack; on failure everything started so far is stopped before it throws. */
export async function startLocalStack(options: StackOptions, stoppers = new Stoppers()): Promise<LocalStack> {
  const t0 = performance.now();
  const progress = options.progress ?? (() => {});
  const environment = options.environment ?? process.env;
  // SG_ENV_FILE names another file than .env (tests use it to keep a developer's .env out).
  const envFile = path.resolve(options.root, environment.SG_ENV_FILE ?? ".env");
  const dotenv = await readDotenv(envFile);
  let settings = mergeSettings(dotenv, environment);
  if (settings.SG_SUPABASE_LOCAL === "1") {
    settings = supabaseLocalSettings(await readSupabaseLocal(options.root, settings.SG_SUPABASE_WORKDIR), settings);
    progress(`supabase  SG_SUPABASE_LOCAL=1: using supabase start's database and Data API`);
  }
  for (const name of unreadSettings(dotenv)) {
    progress(`settings  warning: ${path.relative(options.root, envFile)} sets ${name}, which no function reads (ignored)`);
  }
  const name = settings.SG_DATA_NAME ?? "dev";
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/.test(name)) {
    throw new Error(`SG_DATA_NAME must be 1-40 letters, digits, _ or -, not ${JSON.stringify(name)}`);
  }
  const port = await choosePort(settings.SG_PORT, DEFAULT_PORT, "SG_PORT", false);
  const urls = stackUrls(port);
  const dir = stackDir(name);
  // .local/ itself stays searchable: as root, Postgres runs as another user below it.
  await mkdir(localDir, { recursive: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await refuseSecondStack(dir, name);
  await stopOrphanedPostgres(dir, name, progress);

  const keysFile = path.join(dir, "keys.json");
  const { keys, created: keysCreated } = await loadOrCreateKeys(keysFile);
  progress(`keys      ${keysCreated ? "generated" : "reused"} ${path.relative(options.root, keysFile)}`);

  const given = settings.DATABASE_URL;
  if (given && options.reset) {
    progress("database  --reset ignored: DATABASE_URL names a server this stack does not own");
  }
  const dbPort = given ? 0 : await choosePort(settings.SG_DB_PORT, DEFAULT_DB_PORT, "SG_DB_PORT", true);
  const databaseUrl = given ?? `postgresql://postgres:postgres@127.0.0.1:${dbPort}/postgres`;
  const fn = functionSettings(settings, keys, urls, databaseUrl);
  // The devices page is built (or its last build reused) while the database starts.
  const pageDir = await pageBuildDir();
  const gatewayEnv: Settings = {
    ...fn.env,
    SG_PUBLIC_URL: urls.origin,
    SG_WEB_PAGE_DIR: pageDir,
    ...(fn.devIssuer ? { SG_DEV_ISSUER_JWK: JSON.stringify(keys.dev_clerk.private_jwk) } : {}),
    ...(settings.CLERK_PUBLISHABLE_KEY ? { CLERK_PUBLISHABLE_KEY: settings.CLERK_PUBLISHABLE_KEY } : {}),
    ...dataApiSettings(settings),
  };

  try {
    // The gateway prepares while the database starts; it binds its port only afterwards.
    const database = (async () => {
      const t = performance.now();
      let db: Database;
      if (given) {
        progress(`database  using DATABASE_URL (${redactUrl(given)})`);
        // The harness reads DATABASE_URL itself, and then only prepares that server.
        process.env.DATABASE_URL = given;
        db = await startDatabase({ prepare: false });
      } else {
        const data = path.relative(options.root, path.dirname(dataDir(name)));
        progress(`postgres  starting PostgreSQL ${PG_VERSION} on 127.0.0.1:${dbPort} (data ${data}${options.reset ? ", reset" : ""})`);
        db = await startDatabase({ version: PG_VERSION, name, reset: options.reset, port: dbPort, prepare: false });
        stoppers.add(() => db.stop());
        progress(`postgres  ready in ${seconds(db.timings.startMs)}`);
      }
      const prepared = await prepareDatabase(db.url).catch((error: unknown) => {
        // The data folder keeps every migration earlier runs applied; when the files have
        // changed under it since (a pull, a branch switch), `supabase db push` refuses.
        if (given || options.reset) throw error;
        throw new Error(
          `${(error as Error).message}\nThis local database keeps what earlier runs applied. ` +
            "If the migrations changed since, start over with: npm start -- --reset",
        );
      });
      const standin = prepared.supabase ? "Supabase database: stand-in skipped" : `stand-in applied in ${seconds(prepared.timings.standinMs)}`;
      progress(`database  ${standin}, migrations pushed in ${seconds(prepared.timings.migrationsMs)}`);
      if (settings.SG_EXAMPLE_TABLES !== "0") {
        const tables = await applyExampleTables(options.root, db.url);
        if (tables.length > 0) progress(`example   created ${tables.join(", ")} (examples/notes/supabase/migrations)`);
      }
      if (settings.SG_REALTIME !== "off" && !prepared.supabase && await applyRealtimeTables(options.root, db.url)) {
        progress("realtime  created the realtime schema stand-in and the session events policy");
      }
      return { db, prepared, ms: performance.now() - t };
    })();
    const gateway = (async () => {
      const t = performance.now();
      progress(`gateway   starting Deno on ${urls.origin}`);
      const child = await startGateway({ root: options.root, port, env: gatewayEnv, onLine: options.gatewayLine ?? (() => {}) });
      stoppers.add(() => child.stop());
      progress(`gateway   prepared in ${seconds(performance.now() - t)}`);
      return { child, ms: performance.now() - t };
    })();
    const page = buildPage().then((build) => {
      if (build.dir !== pageDir) throw new Error("the devices page's sources changed while the stack started");
      progress(`web       devices page ${build.built ? "built" : "build reused"} in ${seconds(build.ms)}`);
    });
    const [dbOutcome, gatewayOutcome, pageOutcome] = await Promise.allSettled([database, gateway, page]);
    if (dbOutcome.status === "rejected") throw dbOutcome.reason;
    if (gatewayOutcome.status === "rejected") throw gatewayOutcome.reason;
    if (pageOutcome.status === "rejected") {
      throw new Error(`could not build the devices page: ${(pageOutcome.reason as Error).message}`);
    }
    const { db, prepared } = dbOutcome.value;
    const gw: GatewayProcess = gatewayOutcome.value.child;
    if (db.url !== databaseUrl) {
      throw new Error(`the harness started ${redactUrl(db.url)}, not ${redactUrl(databaseUrl)}`);
    }
    // Only now, with the database migrated, does the port answer.
    await gw.listen();
    progress(`gateway   listening on ${urls.origin}`);

    const postgresPid = given ? null : await postmasterPid(dataDir(name));
    const runFile = path.join(dir, "running.json");
    const run = { pid: process.pid, gateway_pid: gw.pid, postgres_pid: postgresPid, url: urls.origin };
    await writeFile(runFile, JSON.stringify({ ...run, database_url: redactUrl(databaseUrl), started_at: new Date() }, null, 2) + "\n");
    stoppers.add(() => rm(runFile, { force: true }));

    return {
      name,
      urls,
      databaseUrl,
      ownDatabase: !given,
      prepared,
      devIssuer: fn.devIssuer,
      clerkIssuer: fn.env.CLERK_ISSUER ?? "",
      webhook: existsSync(path.join(options.root, "supabase", "functions", "clerk-webhook", "index.ts")),
      keysFile,
      keysCreated,
      overridden: fn.overridden,
      dataApi: {
        kind: settings.SG_DATA_API === "off" ? "off" : settings.SG_DATA_API_UPSTREAM ? "upstream" : "stand-in",
        upstream: settings.SG_DATA_API_UPSTREAM,
        apiKey: settings.SG_SUPABASE_API_KEY ?? LOCAL_PUBLISHABLE_KEY,
      },
      realtime: settings.SG_REALTIME !== "off" && !prepared.supabase,
      pids: { stack: process.pid, gateway: gw.pid, postgres: postgresPid },
      timings: {
        totalMs: Math.round(performance.now() - t0),
        databaseMs: Math.round(dbOutcome.value.ms),
        gatewayMs: Math.round(gatewayOutcome.value.ms),
      },
      gatewayExited: gw.exited,
      stop: () => stoppers.stopAll(),
    };
  } catch (error) {
    await stoppers.stopAll();
    throw error;
  }
}

/** The gateway's `/rest/v1` and `/realtime/v1` settings (dev/data-api/mount.ts, dev/gateway.ts). */
function dataApiSettings(settings: Settings): Settings {
  const out: Settings = {};
  for (const name of ["SG_DATA_API", "SG_DATA_API_UPSTREAM", "SG_REALTIME"]) if (settings[name]) out[name] = settings[name];
  return out;
}

/** The URL without its password. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]+:)[^@]*@/, "$1***@");
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
