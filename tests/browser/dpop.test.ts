/**
 * Device binding in headless Chromium against a running stack (tests/browser/launcher.ts):
 * the SDK's key is a non-extractable CryptoKey kept in IndexedDB; it survives a reload,
 * the session refreshes with it after the reload, and the refresh token taken out of the
 * browser is refused anywhere else.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { openTestDb, type Sql } from "../helpers/db.ts";
import { type BrowserStack, launchBrowser, startBrowserStack } from "./launcher.ts";

let stack: BrowserStack;
let browser: Browser;
let sql: Sql;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startBrowserStack(), launchBrowser()]);
  sql = openTestDb();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await sql?.end({ timeout: 5 });
});

const STORAGE_KEY = "dpop-browser-test";

async function open(page: Page, user: string): Promise<void> {
  page.on("pageerror", (err) => console.error("page error:", err));
  const url = new URL(stack.pageUrl);
  url.searchParams.set("user", user);
  await page.goto(url.href);
  await page.waitForSelector("body[data-ready=true]");
}

/** What the page reports after its session client ran. */
interface PageReport {
  sessionId: string;
  jkt: string;
  refreshToken: string;
  sessionUrl: string;
  isCryptoKey: boolean;
  extractable: boolean;
  algorithm: unknown;
  exportAttempts: string[];
}

/**
 * Runs in the page: a session client with `dpop: true` built from the page's own SDK
 * modules, signing in or refreshing, then a look at the stored key. Plain JavaScript in a
 * string, so that the test runner's transform leaves its `import()` alone.
 */
const PAGE_SCRIPT = `async ({ action, storageKey }) => {
  const base = new URL("sdk/", location.href).href;
  const sdk = await import(base + "index.js");
  const dpop = await import(base + "dpop.js");
  const { config } = window.sessionguardPage;
  const storage = sdk.defaultStorage();
  const sessions = sdk.createSessionClient({
    url: config.sessionUrl, storage, storageKey, dpop: true, autoRefresh: false,
  });
  if (action === "start") {
    const res = await fetch(config.identity.devTokenUrl, { headers: { accept: "application/json" } });
    await sessions.start((await res.json()).token);
  } else {
    await sessions.refresh();
  }
  const session = JSON.parse(await storage.get(storageKey));
  const keys = await dpop.indexedDbKeyStore().get(storageKey + ":" + session.dpop_jkt);
  const exportAttempts = [];
  for (const format of ["jwk", "pkcs8"]) {
    try {
      await crypto.subtle.exportKey(format, keys.privateKey);
      exportAttempts.push(format + ": exported");
    } catch (error) {
      exportAttempts.push(format + ": " + error.name);
    }
  }
  sessions.close();
  return {
    sessionId: session.session_id,
    jkt: session.dpop_jkt,
    refreshToken: session.refresh_token,
    sessionUrl: config.sessionUrl,
    isCryptoKey: keys.privateKey instanceof CryptoKey,
    extractable: keys.privateKey.extractable,
    algorithm: keys.privateKey.algorithm,
    exportAttempts,
  };
}`;

async function inPage(page: Page, action: "start" | "refresh"): Promise<PageReport> {
  const args = JSON.stringify({ action, storageKey: STORAGE_KEY });
  return await page.evaluate(`(${PAGE_SCRIPT})(${args})`) as PageReport;
}

describe("device-bound session in a browser", () => {
  it("keeps a non-extractable key in IndexedDB that survives a reload and still refreshes", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await open(page, `user_${randomBytes(4).toString("hex")}`);

      const started = await inPage(page, "start");
      expect(started.isCryptoKey).toBe(true);
      expect(started.extractable).toBe(false);
      expect(started.algorithm).toEqual({ name: "ECDSA", namedCurve: "P-256" });
      expect(started.exportAttempts).toEqual(["jwk: InvalidAccessError", "pkcs8: InvalidAccessError"]);
      const [bound] = await sql<{ dpop_jkt: string; generation: string }[]>`
        select dpop_jkt, generation::text as generation from sessionguard.families where id = ${started.sessionId}`;
      expect(bound).toEqual({ dpop_jkt: started.jkt, generation: "0" });

      await page.reload();
      await page.waitForSelector("body[data-ready=true]");
      const after = await inPage(page, "refresh");
      expect(after.sessionId).toBe(started.sessionId);
      expect(after.jkt).toBe(started.jkt);
      expect(after.extractable).toBe(false);
      expect(after.exportAttempts).toEqual(["jwk: InvalidAccessError", "pkcs8: InvalidAccessError"]);
      expect(after.refreshToken).not.toBe(started.refreshToken);
      const [rotated] = await sql<{ generation: string; revoked_at: Date | null }[]>`
        select generation::text as generation, revoked_at from sessionguard.families where id = ${started.sessionId}`;
      expect(rotated).toEqual({ generation: "1", revoked_at: null });

      // The current refresh token, taken out of the browser, is refused anywhere else.
      const stolen = await fetch(`${after.sessionUrl}/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: after.refreshToken }),
      });
      expect(stolen.status).toBe(401);
      expect((await stolen.json()).error).toBe("invalid_dpop_proof");
      const [still] = await sql<{ generation: string }[]>`
        select generation::text as generation from sessionguard.families where id = ${started.sessionId}`;
      expect(still.generation).toBe("1");
    } finally {
      await context.close();
    }
  });
});
