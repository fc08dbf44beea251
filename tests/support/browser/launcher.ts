/**
 * What the browser tests run against, and the browser itself. In order:
 *
 * - `SG_STACK_URL` set (e.g. `http://127.0.0.1:54321/` of a running `npm start`): that
 *   page as it is. Its local development issuer must be on (`GET /dev/clerk-token?user=`).
 * - `npm start` (scripts/start.ts) when it exists: spawned here on a free port, on the
 *   test database, with `SESSION_REUSE_GRACE=0` (so any refresh token presented twice is
 *   theft) and its own data name; stopped with SIGINT like Ctrl-C.
 * - `SG_BROWSER_STACK=parts`, or no scripts/start.ts: the parts started one by one:
 *   web/server.ts serving the page with the local development issuer (dev/dev-issuer.ts,
 *   as the gateway mounts it) beside it, and the session function in Deno on another
 *   origin (so CORS is exercised too).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { startWebServer } from "../../../web/server.ts";
import { testDatabaseUrl } from "../context.ts";
import { createDevIssuer, type DevIssuer } from "../../../dev/dev-issuer.ts";
import { refreshSecret, signingJwk } from "../../../scripts/lib/throwaway-keys.ts";
import { startSessionServer } from "../../../scripts/lib/session-server.ts";
import { generateKeys } from "../../../scripts/stack/keys.ts";

const ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
);
export const RESULTS_DIR = path.join(ROOT, "test-results", "browser");
const CHROMIUM = process.env.SG_CHROMIUM ?? "/usr/bin/chromium";

export interface BrowserStack {
  /** URL of the devices page. */
  readonly pageUrl: string;
  /** Which kind of stack: "given", "npm start" or "parts". */
  readonly kind: string;
  stop(): Promise<void>;
}

/** Settings every stack the tests start runs with. */
const STRICT: Record<string, string> = { SESSION_REUSE_GRACE: "0", SESSION_RATE_LIMITS: "off" };

export async function startBrowserStack(): Promise<BrowserStack> {
  const given = process.env.SG_STACK_URL;
  if (given) return { pageUrl: given, kind: "given", stop: async () => {} };
  if (process.env.SG_BROWSER_STACK !== "parts" && existsSync(path.join(ROOT, "scripts", "start.ts"))) {
    return await spawnNpmStart();
  }
  return await startParts();
}

/** scripts/start.ts (what `npm start` runs) as a child; resolves when it prints the page URL. */
async function spawnNpmStart(): Promise<BrowserStack> {
  const name = `browser-tests-${process.pid}`;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // What a shell would pass, minus any Clerk, session or stack settings of the caller.
    if (v !== undefined && !/^(CLERK_|SESSION_|SG_|DATABASE_URL$|SUPABASE_)/.test(k)) env[k] = v;
  }
  Object.assign(env, STRICT, {
    SG_PORT: "0",
    SG_DATA_NAME: name,
    DATABASE_URL: testDatabaseUrl(),
    NO_COLOR: "1",
  });
  const child = spawn(path.join(ROOT, "node_modules", ".bin", "tsx"), ["scripts/start.ts"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT"); // as Ctrl-C: the stack stops its gateway, then exits
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    // This run's keys (and a data folder, were it to start its own Postgres).
    for (const dir of [`stack-${name}`, `pg17-${name}`]) {
      rmSync(path.join(ROOT, ".local", dir), { recursive: true, force: true });
    }
  };
  try {
    const pageUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`npm start was not ready in 90 s:\n${output}`)),
        90_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk;
        const match = /Devices page\s+(http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited with ${code} before it was ready:\n${output}`));
      });
    });
    return { pageUrl, kind: "npm start", stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The parts one by one, without npm start. */
async function startParts(): Promise<BrowserStack> {
  let issuer: DevIssuer | undefined;
  const webOptions = {
    sessionUrl: "http://127.0.0.1:1/functions/v1/session", // set below, once the function listens
    devTokenUrl: "",
    fallback: async (request: Request) =>
      (await issuer?.handle(request)) ?? new Response("not found", { status: 404 }),
  };
  const web = await startWebServer(webOptions);
  const webOrigin = new URL(web.url).origin;
  issuer = await createDevIssuer({
    origin: webOrigin,
    privateJwk: generateKeys().dev_clerk.private_jwk as never,
    authorizedParties: [webOrigin],
    log: () => {},
  });
  webOptions.devTokenUrl = issuer.tokenUrl;
  let server;
  try {
    server = await startSessionServer({
      CLERK_ISSUER: issuer.issuer,
      CLERK_JWKS_URL: issuer.jwksUrl,
      CLERK_AUTHORIZED_PARTIES: webOrigin,
      SESSION_ISSUER: "http://127.0.0.1:54321/functions/v1/session",
      SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
      SESSION_REFRESH_SECRET: refreshSecret(),
      ALLOWED_ORIGINS: webOrigin,
      DATABASE_URL: testDatabaseUrl(),
      ...STRICT,
    });
  } catch (err) {
    await web.stop();
    throw err;
  }
  webOptions.sessionUrl = server.url; // the handler reads it per request
  return {
    pageUrl: web.url,
    kind: "parts",
    async stop() {
      await Promise.all([web.stop(), server.stop()]);
    },
  };
}

/** Headless Debian Chromium driven by playwright-core; a fresh temporary profile per launch. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (npm test does this as root), ` +
        "or point SG_CHROMIUM at one",
    );
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export function screenshotPath(name: string): string {
  return path.join(RESULTS_DIR, `${name}.png`);
}
