/**
 * What the browser tests run against, and the browser itself.
 *
 * - `SG_STACK_URL` set (e.g. `http://127.0.0.1:54321/` from `npm start`): that page is
 *   used as it is; its config.json says where the session function is, and its local
 *   development issuer answers `GET /dev/clerk-token`.
 * - Otherwise the same parts are started here: a local Clerk-shaped issuer, the real
 *   session function in Deno on the test database (with `SESSION_REUSE_GRACE=0`, so any
 *   refresh token presented twice is theft), and web/server.ts serving the page on
 *   another origin (so CORS is exercised too) with `/dev/clerk-token`.
 */
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { startWebServer } from "../../web/server.ts";
import { testDatabaseUrl } from "../harness/context.ts";
import { clerkId, startClerkIssuer } from "../helpers/clerk-issuer.ts";
import { refreshSecret, signingJwk } from "../helpers/keys.ts";
import { startSessionServer } from "../helpers/session-server.ts";

const ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
);
export const RESULTS_DIR = path.join(ROOT, "test-results", "browser");
const CHROMIUM = process.env.SG_CHROMIUM ?? "/usr/bin/chromium";

export interface BrowserStack {
  /** URL of the devices page. */
  readonly pageUrl: string;
  /** True when the tests started the parts themselves (users may be named with `?user=`). */
  readonly own: boolean;
  stop(): Promise<void>;
}

export async function startBrowserStack(
  settings: Record<string, string> = {},
): Promise<BrowserStack> {
  const given = process.env.SG_STACK_URL;
  if (given) return { pageUrl: given, own: false, stop: async () => {} };

  const issuer = await startClerkIssuer();
  const demoUser = clerkId("user");
  let webOrigin = "";
  const webOptions = {
    sessionUrl: "http://127.0.0.1:1/functions/v1/session", // set below, once the function listens
    devClerkToken: (user: string | null) => issuer.token({ sub: user ?? demoUser, azp: webOrigin }),
  };
  const web = await startWebServer(webOptions);
  webOrigin = new URL(web.url).origin;
  let server;
  try {
    server = await startSessionServer({
      CLERK_ISSUER: issuer.issuer,
      CLERK_JWKS_URL: issuer.jwksUrl,
      CLERK_AUTHORIZED_PARTIES: webOrigin,
      SESSION_ISSUER: "http://127.0.0.1:54321/functions/v1/session",
      SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
      SESSION_REFRESH_SECRET: refreshSecret(),
      SESSION_REUSE_GRACE: "0",
      SESSION_RATE_LIMITS: "off",
      ALLOWED_ORIGINS: webOrigin,
      DATABASE_URL: testDatabaseUrl(),
      ...settings,
    });
  } catch (err) {
    await Promise.all([web.stop(), issuer.stop()]);
    throw err;
  }
  webOptions.sessionUrl = server.url; // the handler reads it per request
  return {
    pageUrl: web.url,
    own: true,
    async stop() {
      await Promise.all([web.stop(), server.stop(), issuer.stop()]);
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
