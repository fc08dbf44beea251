/**
 * Device binding in headless Chromium against a running stack (tests/support/browser/launcher.ts):
 * the SDK's key is a non-extractable CryptoKey kept in IndexedDB; it survives a reload,
 * the session refreshes with it after the reload, and the refresh token taken out of the
 * browser is refused anywhere else.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { openTestDb, type Sql } from "../support/database-rows.ts";
import { type BrowserStack, launchBrowser, startBrowserStack } from "../support/browser/launcher.ts";

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
  const dpop = await import(base + "key-store.js");
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

/**
 * In the page: the tab's own `dpop: true` client on `storageKey` (made once), which signs in
 * when asked, else refreshes `times` times at once; answers the failures and the bound key.
 */
const TAB_SCRIPT = `async ({ signIn, times, storageKey }) => {
  if (!window.dpopTab) {
    const sdk = await import(new URL("sdk/index.js", location.href).href);
    const { config } = window.sessionguardPage;
    const sessions = sdk.createSessionClient({
      url: config.sessionUrl, storage: sdk.defaultStorage(), storageKey, dpop: true, autoRefresh: false,
    });
    const signedOut = [];
    sessions.on("signedOut", (e) => signedOut.push(e.reason));
    window.dpopTab = { sessions, config, signedOut };
  }
  const { sessions, config, signedOut } = window.dpopTab;
  if (signIn) {
    const res = await fetch(config.identity.devTokenUrl, { headers: { accept: "application/json" } });
    await sessions.start((await res.json()).token);
  }
  const results = await Promise.allSettled(Array.from({ length: times }, () => sessions.refresh()));
  const failures = results.filter((r) => r.status === "rejected").map((r) => String(r.reason));
  return { failures, signedOut, session: await sessions.getSession() };
}`;

async function tab(page: Page, signIn: boolean, times: number) {
  const args = JSON.stringify({ signIn, times, storageKey: "dpop-two-tabs" });
  return await page.evaluate(`(${TAB_SCRIPT})(${args})`) as {
    failures: string[];
    signedOut: string[];
    session: { session_id: string } | null;
  };
}

describe("device-bound session in a browser", () => {
  it("two tabs share the one key and race refreshes at grace 0 without ever being signed out", async () => {
    const context = await browser.newContext();
    try {
      const user = `user_${randomBytes(4).toString("hex")}`;
      const one = await context.newPage();
      const two = await context.newPage();
      await open(one, user);
      await open(two, user);
      const first = await tab(one, true, 0);
      const sessionId = first.session!.session_id;
      for (let round = 0; round < 10; round++) {
        const results = await Promise.all([tab(one, false, 2), tab(two, false, 2)]);
        expect(results.flatMap((r) => [...r.failures, ...r.signedOut]), `round ${round}`).toEqual([]);
      }
      const [row] = await sql<{ generation: string; revoked_at: Date | null; dpop_jkt: string | null }[]>`
        select generation::text as generation, revoked_at, dpop_jkt from sessionguard.families where id = ${sessionId}`;
      expect(row.revoked_at).toBeNull();
      expect(row.dpop_jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Number(row.generation)).toBeGreaterThanOrEqual(10);
      const mismatches = await sql`
        select 1 from sessionguard.events where session_id = ${sessionId} and type = 'dpop_key_mismatch'`;
      expect(mismatches.length).toBe(0);
    } finally {
      await context.close();
    }
  });

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
