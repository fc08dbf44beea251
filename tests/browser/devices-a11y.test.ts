/**
 * The devices page (web/, on @sessionguard/react) in headless Chromium: axe-core finds no
 * WCAG 2.1 A/AA or best-practice violation on the whole page, signed in with two devices
 * and after theft signed it out; a device is revoked with the keyboard alone; and the page
 * runs under its Content-Security-Policy, which allows no inline script, without a single
 * violation. tests/browser/devices.test.ts covers what the page does.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BrowserStack,
  launchBrowser,
  screenshotPath,
  startBrowserStack,
} from "../support/browser/launcher.ts";

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

/** The page as `user`, ready; `console` collects what the browser logs (CSP reports land there). */
async function open(user: string, console: string[] = [], unbound = false): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on("console", (message) => console.push(message.text()));
  page.on("pageerror", (err) => console.push(`page error: ${err.message}`));
  const url = new URL(stack.pageUrl);
  url.searchParams.set("user", user);
  if (unbound) url.searchParams.set("dpop", "off");
  await page.goto(url.href);
  await page.waitForSelector("body[data-ready=true]");
  return page;
}

async function signIn(page: Page, deviceName: string): Promise<void> {
  await page.getByLabel("Name this device").fill(deviceName);
  await page.getByRole("button", { name: /^Sign in/ }).click();
  await page.waitForSelector("body[data-state=signed-in]");
  await page.locator("#devices tr[data-current=true]").waitFor();
}

/** axe-core over the whole page. Injected through the DevTools protocol, as the page's CSP refuses inline scripts. */
async function axe(page: Page): Promise<{ violations: { id: string; nodes: unknown[] }[]; passes: number }> {
  await page.evaluate(axeSource);
  return await page.evaluate(async () => {
    const axe = (window as unknown as { axe: any }).axe;
    const r = await axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    });
    return {
      violations: r.violations.map((v: any) => ({ id: v.id, nodes: v.nodes.map((n: any) => n.target) })),
      passes: r.passes.length,
    };
  });
}

describe("devices page accessibility", () => {
  it("passes axe-core signed in with two devices and events, and after theft signed it out", async () => {
    const user = `user_${tag()}`;
    const other = await open(user);
    await signIn(other, `Phone ${tag()}`);
    // Unbound (the page binds by default): the theft below is a replayed bearer copy.
    const page = await open(user, [], true);
    await signIn(page, `Desk ${tag()}`);
    await page.locator("#reload").click();
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "Lists reloaded.");
    expect(await page.locator("#devices tbody tr").count()).toBe(2);
    expect(await page.locator("#events li").count()).toBeGreaterThan(1);

    const signedIn = await axe(page);
    expect(signedIn.violations).toEqual([]);
    expect(signedIn.passes).toBeGreaterThan(10); // axe really looked at the page

    await page.getByRole("button", { name: "Replay an old refresh token" }).click();
    await page.waitForSelector("body[data-state=signed-out]");
    await expect(page.getByRole("alert").textContent()).resolves.toContain("Theft detected");
    const signedOut = await axe(page);
    expect(signedOut.violations).toEqual([]);
    expect(signedOut.passes).toBeGreaterThan(5);
  }, 90_000); // two browsers, two axe runs: slow on a loaded machine

  it("revokes another device with the keyboard alone, announces it, and keeps focus in the list", async () => {
    const user = `user_${tag()}`;
    const nameB = `Tablet ${tag()}`;
    await signIn(await open(user), nameB);
    const page = await open(user);
    await signIn(page, `Laptop ${tag()}`);
    await page.locator("#reload").click();
    const revoke = page.getByRole("button", { name: `Sign out ${nameB}` });
    await revoke.waitFor();

    // Tab from the page's own "Sign out" button until the device's button has focus.
    await page.locator("#signout").focus();
    for (let i = 0; i < 20 && !(await revoke.evaluate((el) => el === document.activeElement)); i++) {
      await page.keyboard.press("Tab");
    }
    expect(await revoke.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press("Enter");
    await page.waitForFunction((n) => document.getElementById("status")?.textContent === `Signed out ${n}.`, nameB);
    expect(await page.locator("#devices tbody tr").count()).toBe(1);
    // The button went with its row: focus is on the list's heading, not lost to <body>.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Signed-in devices");
    await page.screenshot({ path: screenshotPath("08-revoked-by-keyboard"), fullPage: true });
  });

  it("runs under a CSP that allows no inline script, without a violation", async () => {
    const response = await fetch(stack.pageUrl);
    const csp = response.headers.get("content-security-policy") ?? "";
    const scriptSrc = csp.split(";").map((d) => d.trim()).find((d) => d.startsWith("script-src")) ?? "";
    expect(scriptSrc).toMatch(/^script-src 'self'/);
    expect(scriptSrc).not.toMatch(/unsafe-inline|unsafe-eval|nonce-|sha256-/);
    expect(await response.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i); // no inline script in the HTML

    const logged: string[] = [];
    const page = await open(`user_${tag()}`, logged);
    await signIn(page, `CSP ${tag()}`);
    expect(logged.filter((line) => /Content Security Policy|Refused to|page error/.test(line))).toEqual([]);
  });
});
