/**
 * A tab closed mid-refresh, in headless Chromium against a running stack with
 * SESSION_REUSE_GRACE=0 (tests/support/browser/launcher.ts): the tab's refresh request
 * reaches the server, which rotates; the tab is closed before the answer is stored (the
 * browser releases its Web Lock; the answer is lost). The other tab then refreshes with the
 * spent token and its device key. The SDK binds by default, so that is P14's lost answer,
 * not theft: the other tab stays signed in, no theft event is written, nothing is revoked.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { eventsOf, family, openTestDb, type Sql } from "../support/database-rows.ts";
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

async function open(page: Page, user: string): Promise<void> {
  const url = new URL(stack.pageUrl);
  url.searchParams.set("user", user);
  await page.goto(url.href);
  await page.waitForSelector("body[data-ready=true]");
}

/**
 * In the page: the tab's client with the SDK's defaults (no `dpop` option), made once;
 * then `action`. Plain JavaScript in a string, so the test runner's transform leaves its
 * `import()` alone.
 */
const TAB_SCRIPT = `async ({ action }) => {
  const sdk = await import(new URL("sdk/index.js", location.href).href);
  if (!window.closeTab) {
    const { config } = window.sessionguardPage;
    const sessions = sdk.createSessionClient({
      url: config.sessionUrl, storage: sdk.defaultStorage(), storageKey: "tab-close", autoRefresh: false,
    });
    const events = [];
    sessions.on("signedOut", (e) => events.push("signedOut:" + e.reason));
    sessions.on("theftDetected", (e) => events.push("theftDetected:" + e.error.code));
    window.closeTab = { sessions, config, events };
  }
  const { sessions, config, events } = window.closeTab;
  if (action === "start") {
    const res = await fetch(config.identity.devTokenUrl, { headers: { accept: "application/json" } });
    await sessions.start((await res.json()).token);
  } else if (action === "refresh") {
    await sessions.refresh();
  }
  const raw = await sdk.defaultStorage().get("tab-close");
  return { binding: sessions.deviceBinding, session: await sessions.getSession(), stored: JSON.parse(raw ?? "null"), events };
}`;

interface TabReport {
  binding: { bind: boolean; reason?: string };
  session: { session_id: string } | null;
  stored: { refresh_token: string; dpop_jkt?: string } | null;
  events: string[];
}

async function tab(page: Page, action: "start" | "refresh" | "look"): Promise<TabReport> {
  return await page.evaluate(`(${TAB_SCRIPT})(${JSON.stringify({ action })})`) as TabReport;
}

describe("a tab closed mid-refresh", () => {
  it("the other tab stays signed in, no theft event, nothing revoked (grace 0: P14 alone)", async () => {
    const context = await browser.newContext();
    try {
      const user = `user_${randomBytes(4).toString("hex")}`;
      const one = await context.newPage();
      const two = await context.newPage();
      await open(one, user);
      await open(two, user);
      const started = await tab(one, "start");
      expect(started.binding).toEqual({ bind: true });
      expect(started.stored?.dpop_jkt).toBeTruthy();
      const sessionId = started.session!.session_id;
      expect((await tab(two, "look")).session?.session_id).toBe(sessionId);

      // Tab one's refresh reaches the server (which rotates); its answer never reaches the page.
      let answered!: () => void;
      const serverAnswered = new Promise<void>((resolve) => (answered = resolve));
      await one.route("**/refresh", async (route) => {
        const response = await route.fetch();
        expect(response.status()).toBe(200);
        answered();
        // Never fulfilled: the tab closes with the request open.
      });
      const lost = tab(one, "refresh").catch(() => "closed");
      await serverAnswered;
      await one.close();
      expect(await lost).toBe("closed");
      expect(Number((await family(sql, sessionId))!.generation)).toBe(1);

      // Tab two presents the spent token (the one still stored) with the device key.
      const before = await tab(two, "look");
      expect(before.stored?.refresh_token).toBe(started.stored?.refresh_token);
      const after = await tab(two, "refresh");
      expect(after.events).toEqual([]);
      expect(after.session?.session_id).toBe(sessionId);
      const again = await tab(two, "refresh");
      expect(again.events).toEqual([]);

      const row = await family(sql, sessionId);
      expect(row!.revoked_at).toBeNull();
      expect(Number(row!.generation)).toBe(2);
      const types = (await eventsOf(sql, user)).map((e) => e.type);
      expect(types).not.toContain("refresh_token_reused");
      expect(types).not.toContain("clerk_session_ended");
      expect(types).not.toContain("clerk_revoke_failed");
    } finally {
      await context.close();
    }
  }, 120_000);
});
