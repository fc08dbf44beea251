/**
 * The devices page in headless Chromium against a running stack (tests/support/browser/launcher.ts):
 * tabs refreshing together never sign each other out, revocation reaches another browser,
 * a replayed spent refresh token revokes the session and the page shows it; the page cannot
 * be pointed at another endpoint from its URL, nor framed by another site (clickjacking).
 * Screenshots go to test-results/browser/.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
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

beforeAll(async () => {
  [stack, browser] = await Promise.all([startBrowserStack(), launchBrowser()]);
  console.log(`browser tests against ${stack.kind}: ${stack.pageUrl}`);
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await stack?.stop();
});

const tag = () => randomBytes(4).toString("hex");

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 1100, height: 900 },
  });
  contexts.push(context);
  return context;
}

/** Opens the page (as `user` when the stack lets us name one) and waits until it is ready. */
async function open(context: BrowserContext, user: string, fakeClock = false, unbound = false): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
  // Playwright's clock: time flows as usual until the test jumps it forward.
  if (fakeClock) await page.clock.install();
  const url = new URL(stack.pageUrl);
  url.searchParams.set("user", user); // a user of its own per test, so lists hold only its sessions
  if (unbound) url.searchParams.set("dpop", "off");
  await page.goto(url.href);
  await page.waitForSelector("body[data-ready=true]");
  return page;
}

async function signIn(page: Page, deviceName: string): Promise<void> {
  await page.getByLabel("Name this device").fill(deviceName);
  await page.locator("#signin").click();
  await page.waitForSelector("body[data-state=signed-in]");
  await page.locator(`#devices tr[data-current=true]`).waitFor();
}

/** The refresh token the page's SDK has stored (IndexedDB), or null. */
function storedRefreshToken(page: Page): Promise<string | null> {
  return page.evaluate(async () => {
    const { storage } = (window as unknown as { sessionguardPage: { storage: any } })
      .sessionguardPage;
    const raw = await storage.get("sessionguard.session");
    return raw ? JSON.parse(raw).refresh_token : null;
  });
}

describe("devices page", () => {
  it("is accessible by label and role, and signs in through the local development issuer", async () => {
    const page = await open(await newContext(), `user_${tag()}`);
    await expect(
      page.getByRole("heading", { name: "Your devices" }).isVisible(),
    ).resolves.toBe(true);
    await expect(page.locator("#mode-banner").textContent()).resolves.toContain(
      "Local development",
    );
    // Signed out, the banner does not claim anyone is signed in.
    expect(await page.locator("#mode-banner").textContent()).not.toMatch(/signed in/i);
    await signIn(page, `Laptop ${tag()}`);
    // User words on the user's part of the page: no refresh counters, no reload or
    // "Revoke" buttons (the developer's buttons live in the labelled local-development section).
    const userButtons = await page.locator("main button:not(#dev-tools button)").allTextContents();
    expect(userButtons.filter((text) => /refresh|reload|revoke/i.test(text))).toEqual([]);
    expect(userButtons).toContain("Sign out everywhere else");
    for (const part of ["#signed-in", "#events"]) {
      expect(await page.locator(part).textContent()).not.toMatch(/refreshes on this page|access token/i);
    }
    const current = page.locator("#devices tr[data-current=true]");
    await expect(current.textContent()).resolves.toContain("This device");
    await expect(page.locator("#events li[data-type=session_started]").count())
      .resolves.toBeGreaterThan(0);
    await expect(page.getByRole("status").textContent()).resolves.toBe(
      "Signed in.",
    );
    await page.screenshot({
      path: screenshotPath("01-signed-in"),
      fullPage: true,
    });
  });

  it("two tabs refreshing at the same moment, many times, are never signed out", async () => {
    const context = await newContext();
    const user = `user_${tag()}`;
    const tab1 = await open(context, user);
    await signIn(tab1, `Two tabs ${tag()}`);
    const tab2 = await open(context, user);
    await tab2.waitForSelector("body[data-state=signed-in]");
    const before = await storedRefreshToken(tab1);

    const burst = (page: Page) =>
      page.evaluate(async () => {
        const { sessions } = (window as unknown as { sessionguardPage: { sessions: any } })
          .sessionguardPage;
        const results = await Promise.allSettled([
          sessions.refresh(),
          sessions.getAccessToken(),
          sessions.refresh(),
        ]);
        return results.filter((r) => r.status === "rejected").map((r) =>
          String((r as PromiseRejectedResult).reason)
        );
      });
    for (let round = 0; round < 25; round++) {
      const failures = await Promise.all([burst(tab1), burst(tab2)]);
      expect(failures.flat(), `round ${round}`).toEqual([]);
    }

    for (const tab of [tab1, tab2]) {
      await tab.locator("#reload").click(); // the developer tools' "Reload the lists now"
      await tab.waitForFunction(() => document.getElementById("status")?.textContent === "Lists reloaded.");
      expect(await tab.getAttribute("body", "data-state")).toBe("signed-in");
      expect(await tab.locator("#alert").isHidden()).toBe(true);
    }
    const after = await storedRefreshToken(tab2);
    expect(after).not.toBe(before);
    expect(
      await tab1.locator("#events li[data-type=refresh_token_reused]").count(),
    ).toBe(0);
    // Both tabs saw refreshes: their own, and the other tab's handed over on the BroadcastChannel.
    expect(Number(await tab1.getAttribute("body", "data-refreshes")))
      .toBeGreaterThan(20);
    expect(Number(await tab2.getAttribute("body", "data-refreshes")))
      .toBeGreaterThan(20);
    await tab1.screenshot({
      path: screenshotPath("02-two-tabs-after-refresh-race"),
      fullPage: true,
    });
  });

  it("revoking a device from one browser signs the other out on its next request", async () => {
    const user = `user_${tag()}`;
    const a = await open(await newContext(), user);
    const b = await open(await newContext(), user);
    const nameA = `Browser A ${tag()}`;
    const nameB = `Browser B ${tag()}`;
    await signIn(b, nameB);
    await signIn(a, nameA);
    const rowB = a.locator("#devices tr", { hasText: nameB });
    await rowB.waitFor();
    await a.screenshot({
      path: screenshotPath("03-before-revoke"),
      fullPage: true,
    });
    await rowB.getByRole("button", { name: `Sign out ${nameB}` }).click();
    await a.waitForFunction(
      (n) => document.getElementById("status")?.textContent === `Signed out ${n}.`,
      nameB,
    );
    expect(await a.locator("#devices tr", { hasText: nameB }).count()).toBe(0);
    // A's activity shows the revocation without any button pressed (the device list told it).
    await a.locator("#events li[data-type=session_revoked]").first().waitFor();

    // B's next request: the user coming back to the tab reloads its lists, which finds
    // the session revoked. No button: what a user does is look at the page again.
    expect(await b.getAttribute("body", "data-state")).toBe("signed-in");
    await b.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    await b.waitForSelector("body[data-state=signed-out]");
    // One message for the state: the alert says it, the status region does not repeat it.
    const alert = await b.getByRole("alert").textContent();
    expect(alert).toContain("ended from another device");
    expect(await b.locator("#status").textContent()).not.toContain("ended from another device");
    expect(await storedRefreshToken(b)).toBeNull();
    await b.screenshot({
      path: screenshotPath("04-revoked-device-signed-out"),
      fullPage: true,
    });
  });

  it("shows a list answer at once while a later load is still out: a device signed out leaves the list", async () => {
    const user = `user_${tag()}`;
    const a = await open(await newContext(), user);
    const b = await open(await newContext(), user);
    const nameB = `Browser B ${tag()}`;
    await signIn(b, nameB);
    await signIn(a, `Browser A ${tag()}`);
    const rowB = a.locator("#devices tr", { hasText: nameB });
    await rowB.waitFor();

    // From here on, each device-list request is sent to the server as it comes, and its
    // answer delivered to the page only when the test says. `fresh`: sent after the
    // revocation was committed, so its answer no longer lists B.
    let committed = false;
    const held: { fresh: boolean; deliver: () => Promise<void> }[] = [];
    const sessions = (url: URL) => /\/sessions(\/[^/]+)?$/.test(url.pathname);
    await a.route(sessions, async (route) => {
      const method = route.request().method();
      if (method === "DELETE") {
        const response = await route.fetch();
        committed = true;
        return route.fulfill({ response });
      }
      if (method !== "GET") return route.continue();
      const fresh = committed;
      const response = await route.fetch();
      await new Promise<void>((resolve) => {
        held.push({ fresh, deliver: () => route.fulfill({ response }).catch(() => {}).then(resolve) });
      });
    });
    await rowB.getByRole("button", { name: `Sign out ${nameB}` }).click();
    // The revoke's own reload, then a later one (the user back on the tab; a Realtime
    // announcement does the same): both out at once.
    await expect.poll(() => held.findIndex((h) => h.fresh)).toBeGreaterThanOrEqual(0);
    const sent = held.length;
    await a.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    await expect.poll(() => held.length).toBeGreaterThan(sent);
    const latest = held.at(-1)!;
    for (const h of held.slice(0, -1)) await h.deliver();
    // The latest load is still out; the fresh answer delivered must be on screen already.
    await expect.poll(() => rowB.count(), { timeout: 5_000 }).toBe(0);
    await latest.deliver();
    await a.unroute(sessions);
  });

  it("sign out everywhere else keeps this device and ends the others", async () => {
    const user = `user_${tag()}`;
    const a = await open(await newContext(), user);
    const b = await open(await newContext(), user);
    await signIn(b, `Other ${tag()}`);
    await signIn(a, `Keeper ${tag()}`);
    await a.getByRole("button", { name: "Sign out everywhere else" }).click();
    await a.waitForFunction(() =>
      document.getElementById("status")?.textContent ===
        "Signed out everywhere else."
    );
    expect(await a.locator("#devices tbody tr").count()).toBe(1);
    await b.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    await b.waitForSelector("body[data-state=signed-out]");
    expect(await a.getAttribute("body", "data-state")).toBe("signed-in");
  });

  it("a sign-in on another device appears in the lists by itself", async () => {
    const user = `user_${tag()}`;
    const a = await open(await newContext(), user);
    await signIn(a, `Watcher ${tag()}`);
    const nameB = `Newcomer ${tag()}`;
    await signIn(await open(await newContext(), user), nameB);
    // No button pressed on A: returning to the tab reloads both lists.
    await a.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    await a.locator("#devices tr", { hasText: nameB }).waitFor();
    await expect.poll(() => a.locator("#events li[data-type=session_started]").count(), { timeout: 10_000 }).toBe(2);
  }, 90_000); // two browsers signing in: slow on a loaded machine

  it("a sign-in on another device appears after the poll interval, with the user doing nothing", async () => {
    const user = `user_${tag()}`;
    const a = await open(await newContext(), user, true);
    await signIn(a, `Idle watcher ${tag()}`);
    const nameB = `Arrival ${tag()}`;
    await signIn(await open(await newContext(), user), nameB);
    // Control: nothing has made A look yet.
    await a.waitForTimeout(1_000);
    expect(await a.locator("#devices tr", { hasText: nameB }).count()).toBe(0);
    // The lists poll every 30 s while the page is visible: jump A's clock past one interval.
    await a.clock.fastForward(31_000);
    await a.locator("#devices tr", { hasText: nameB }).waitFor({ timeout: 10_000 });
    await a.locator("#events li", { hasText: nameB }).waitFor({ timeout: 10_000 });
  }, 90_000);

  it("a replayed spent refresh token revokes the session, and the page shows it", async () => {
    const context = await newContext();
    // Unbound (the page binds by default): the replayed token is a bearer copy.
    const page = await open(context, `user_${tag()}`, false, true);
    await signIn(page, `Victim ${tag()}`);
    await page.getByRole("button", { name: "Replay an old refresh token" })
      .click();
    await page.waitForSelector("body[data-theft=detected]");
    await page.waitForSelector("body[data-state=signed-out]");
    await expect(page.getByRole("alert").textContent()).resolves.toContain(
      "Theft detected",
    );
    // The story stays on screen, signed out: the log and the activity as last shown.
    await expect(page.locator("#replay-result").textContent()).resolves
      .toContain("401 refresh_token_reused");
    expect(await page.locator("#replay-result").isVisible()).toBe(true);
    expect(await page.locator("#events li[data-type=session_started]").isVisible()).toBe(true);
    await page.waitForTimeout(300);
    expect(await page.locator("#replay-result").isVisible()).toBe(true);
    await page.screenshot({
      path: screenshotPath("05-theft-detected"),
      fullPage: true,
    });
    // Until dismissed.
    await page.getByRole("button", { name: "Dismiss this message" }).click();
    expect(await page.getByRole("alert").isHidden()).toBe(true);
    expect(await page.locator("#replay-result").count()).toBe(0);
    expect(await page.locator("#events").isHidden()).toBe(true);

    // Signing in again shows the security event with where it came from.
    await signIn(page, `Victim again ${tag()}`);
    const event = page.locator("#events li[data-type=refresh_token_reused]");
    await event.first().waitFor();
    expect(await event.count()).toBeGreaterThan(0);
    await page.screenshot({
      path: screenshotPath("06-security-events"),
      fullPage: true,
    });
  });
});

/** Another site: it answers `/frame` with a page that frames `target`, and records every request. */
async function startOtherSite(): Promise<{ origin: string; hits: string[]; stop(): Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/frame") {
      const target = url.searchParams.get("target") ?? "";
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><title>framing</title>
<p>Win a prize: click the button below!</p>
<iframe id="victim" src="${target.replaceAll('"', "&quot;")}" width="1000" height="700"
  onload="document.title = 'frame loaded'"></iframe>`);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    hits,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("devices page cannot be turned against its user", () => {
  let other: Awaited<ReturnType<typeof startOtherSite>>;
  beforeAll(async () => {
    other = await startOtherSite();
  });
  afterAll(() => other?.stop());

  it("ignores ?session_url=: it signs in, and its tokens go only to the configured endpoint", async () => {
    const configured = (await (await fetch(new URL("config.json", stack.pageUrl))).json()).sessionUrl ??
      new URL("/functions/v1/session", stack.pageUrl).href;
    const context = await newContext();
    const page = await context.newPage();
    const requests: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    const url = new URL(stack.pageUrl);
    url.searchParams.set("user", `user_${tag()}`);
    url.searchParams.set("session_url", `${other.origin}/functions/v1/session`);
    await page.goto(url.href);
    await page.waitForSelector("body[data-ready=true]");
    const used = await page.evaluate(() =>
      (window as unknown as { sessionguardPage: { config: { sessionUrl: string } } }).sessionguardPage.config
        .sessionUrl
    );
    expect(used).toBe(configured.replace(/\/+$/, ""));
    await signIn(page, `Pointed elsewhere ${tag()}`);
    await page.locator("#refresh").click();
    await page.waitForFunction(() =>
      document.getElementById("status")?.textContent === "Access token refreshed."
    );
    expect(requests.filter((r) => r.startsWith(other.origin))).toEqual([]);
    expect(other.hits).toEqual([]);
    expect(requests.some((r) => r.startsWith(`${configured.replace(/\/+$/, "")}/start`))).toBe(true);
  });

  it("refuses to be framed by another site", async () => {
    const page = await (await newContext()).newPage();
    const blocked: string[] = [];
    page.on("console", (message) => blocked.push(message.text()));
    const frameUrl = new URL("/frame", other.origin);
    frameUrl.searchParams.set("target", stack.pageUrl);
    await page.goto(frameUrl.href);
    // The iframe's load event fires whether or not its document was allowed in.
    await page.waitForFunction(() => document.title === "frame loaded");
    const child = page.frames().find((frame) => frame !== page.mainFrame());
    expect(child).toBeDefined();
    // A refused frame holds Chromium's error page, not the devices page and its buttons.
    expect(child!.url()).not.toBe(stack.pageUrl);
    const buttons = await child!.evaluate(() => document.querySelectorAll("#root, #signin").length)
      .catch(() => 0);
    expect(buttons).toBe(0);
    expect(blocked.join("\n")).toContain("frame-ancestors");
    await page.screenshot({ path: screenshotPath("07-framing-refused"), fullPage: true });
  });
});
