/**
 * The devices page (web/, on @sessionguard/react's <DeviceList/> and <SecurityEvents/>) at
 * a phone's width and a desktop's, in headless Chromium: nothing is wider than the window
 * (`scrollWidth <= innerWidth`), every device's "Sign out" button is inside it, the device
 * table becomes a list of cards when narrow and stays a table when wide, and axe-core finds
 * nothing at either width. Screenshots go to test-results/browser/layout-<width>-*.png.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserStack, launchBrowser, screenshotPath, startBrowserStack } from "../support/browser/launcher.ts";

let stack: BrowserStack;
let browser: Browser;
const contexts: BrowserContext[] = [];
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

beforeAll(async () => {
  [stack, browser] = await Promise.all([startBrowserStack(), launchBrowser()]);
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await stack?.stop();
});

const tag = () => randomBytes(4).toString("hex");
/** A phone's user agent for the other device, so the browser column has something real to say. */
const PHONE_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

async function open(user: string, width: number, userAgent?: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 800 }, userAgent });
  contexts.push(context);
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
  const url = new URL(stack.pageUrl);
  url.searchParams.set("user", user);
  // Unbound (the page binds by default): the theft scene replays a bearer copy of the token.
  url.searchParams.set("dpop", "off");
  await page.goto(url.href);
  await page.waitForSelector("body[data-ready=true]");
  return page;
}

async function signIn(page: Page, deviceName: string): Promise<void> {
  await page.getByLabel("Name this device").fill(deviceName);
  await page.locator("#signin").click();
  await page.waitForSelector("body[data-state=signed-in]");
  await page.locator("#devices tr[data-current=true]").waitFor();
}

/** How wide the document is against the window, and where each device's button is. */
function measure(page: Page) {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    rowDisplay: getComputedStyle(document.querySelector("#devices tbody tr")!).display,
    buttons: [...document.querySelectorAll<HTMLButtonElement>("#devices tbody button")].map((b) => {
      const r = b.getBoundingClientRect();
      return { name: b.getAttribute("aria-label"), left: r.left, right: r.right, width: r.width, height: r.height };
    }),
  }));
}

async function axeViolations(page: Page): Promise<{ id: string }[]> {
  await page.evaluate(axeSource);
  return await page.evaluate(async () => {
    const axe = (window as unknown as { axe: any }).axe;
    const r = await axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    });
    return r.violations.map((v: any) => ({ id: v.id, nodes: v.nodes.map((n: any) => n.target) }));
  });
}

describe("devices page layout", () => {
  for (const [width, layout] of [[390, "block"], [320, "block"], [1280, "table-row"]] as const) {
    it(`at ${width} px: no sideways scrolling, every action visible, ${layout === "block" ? "a list" : "a table"}`, async () => {
      const user = `user_${tag()}`;
      const phoneName = `Phone with a rather long device name ${tag()}`;
      await signIn(await open(user, 1280, PHONE_UA), phoneName);
      const page = await open(user, width);
      const deskName = `Desk ${tag()}`;
      await signIn(page, deskName);
      await page.locator("#devices tr", { hasText: phoneName }).waitFor();
      await page.locator("#events li").first().waitFor();

      const m = await measure(page);
      expect(m.innerWidth).toBe(width);
      expect(m.scrollWidth, "the page is no wider than the window").toBeLessThanOrEqual(m.innerWidth);
      expect(m.rowDisplay).toBe(layout);
      expect(m.buttons.map((b) => b.name).sort()).toEqual([`Sign out ${deskName}`, `Sign out ${phoneName}`].sort());
      for (const button of m.buttons) {
        expect(button.width, `${button.name} is rendered`).toBeGreaterThan(0);
        expect(button.left, `${button.name} starts inside the window`).toBeGreaterThanOrEqual(0);
        expect(button.right, `${button.name} ends inside the window`).toBeLessThanOrEqual(m.innerWidth);
      }
      // The browser column, from the other device's user agent.
      await expect(page.locator("#devices tr", { hasText: phoneName }).textContent()).resolves.toContain("Safari 17");
      await page.screenshot({ path: screenshotPath(`layout-${width}-signed-in`), fullPage: true });
      expect(await axeViolations(page)).toEqual([]);

      // Signed out by theft, with the story on screen: still no sideways scrolling.
      await page.getByRole("button", { name: "Replay an old refresh token" }).click();
      await page.waitForSelector("body[data-state=signed-out]");
      await page.locator("#replay-result", { hasText: "refresh_token_reused" }).waitFor();
      const wide = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
      expect(wide.scroll, "signed out, the page is no wider than the window").toBeLessThanOrEqual(wide.inner);
      expect(await page.locator("#devices").isHidden()).toBe(true);
      await page.screenshot({ path: screenshotPath(`layout-${width}-after-theft`), fullPage: true });
      expect(await axeViolations(page)).toEqual([]);
    }, 120_000); // two browsers, two axe runs: slow on a loaded machine
  }
});
