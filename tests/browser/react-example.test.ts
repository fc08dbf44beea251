/**
 * The React example (examples/react-vite, served by `npm run example` in development
 * mode, so React's strict mode double-mounts) in headless Chromium, through `npm start`'s
 * local development issuer with SESSION_REUSE_GRACE=0 (any refresh token presented
 * twice is theft): sign-in, one session under strict mode and across tabs, two tabs
 * racing refreshes, revocation from another browser, theft shown, and axe-core on the
 * @sessionguard/react components. Screenshots go to test-results/browser/.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useExampleHarness } from "../support/browser/example-harness.ts";
import { type ExampleServer, startExample } from "../support/browser/example-server.ts";
import { screenshotPath } from "../support/browser/launcher.ts";

const harness = useExampleHarness();
/** POST /start requests seen, per user (from the `user` query parameter of the page). */
const starts = new Map<string, number>();

const tag = () => randomBytes(4).toString("hex");


async function open(context: BrowserContext, user: string, params: Record<string, string> = {}): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
  page.on("request", (request) => {
    if (request.method() === "POST" && new URL(request.url()).pathname.endsWith("/session/start")) {
      starts.set(user, (starts.get(user) ?? 0) + 1);
    }
  });
  const url = new URL(harness.example.url);
  url.searchParams.set("user", user);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  await page.goto(url.href);
  await page.locator("h1", { hasText: "Notes" }).waitFor();
  return page;
}

async function signIn(page: Page, deviceName: string): Promise<void> {
  await page.getByLabel("Name this device").fill(deviceName);
  await page.getByRole("button", { name: "Sign in as the demo user" }).click();
  await signedIn(page);
}

async function signedIn(page: Page): Promise<void> {
  await page.getByRole("heading", { name: "Signed in" }).waitFor();
  await page.locator(".sg-devices tr[data-current]").waitFor();
}

function devices(page: Page) {
  return page.locator(".sg-devices tbody tr");
}

// Generous: under a full `npm test` the machine is shared by every suite at once.
describe("React example", { timeout: 90_000 }, () => {
  it("signs in through the local development issuer", async () => {
    const user = `user_${tag()}`;
    const page = await open(await harness.newContext(), user);
    await signIn(page, `Laptop ${tag()}`);
    await page.locator(".sg-events li[data-type=session_started]").first().waitFor();
    expect(starts.get(user)).toBe(1);
    expect(await devices(page).count()).toBe(1);
    await expect(page.getByTestId("user-id").textContent()).resolves.toBe(user);
    // A reload keeps the stored session: no second start.
    await page.reload();
    await signedIn(page);
    expect(starts.get(user)).toBe(1);
    await page.screenshot({ path: screenshotPath("react-01-signed-in"), fullPage: true });
  });

  it("strict mode mounting with the identity already signed in starts exactly one session", async () => {
    // As after Clerk's sign-in redirect: the identity is signed in when the app mounts, so
    // strict mode runs the sync effect twice over the same identity session.
    const user = `user_${tag()}`;
    const page = await open(await harness.newContext(), user);
    await page.evaluate((userId) => {
      const sessionId = `sess_${crypto.randomUUID().replaceAll("-", "")}`;
      localStorage.setItem("example.local-identity", JSON.stringify({ userId, sessionId }));
    }, user);
    await page.reload();
    await signedIn(page);
    await page.locator(".sg-events li[data-type=session_started]").first().waitFor();
    expect(await page.evaluate(() => (window as unknown as { exampleMounts: number }).exampleMounts))
      .toBeGreaterThanOrEqual(2); // strict mode really mounted twice
    await page.waitForTimeout(500);
    expect(starts.get(user)).toBe(1);
    expect(await devices(page).count()).toBe(1);
    expect(await page.locator(".sg-events li[data-type=session_started]").count()).toBe(1);
  });

  it("signing in with two tabs open starts one session, and both tabs stay signed in through racing refreshes", async () => {
    const context = await harness.newContext();
    const user = `user_${tag()}`;
    const tab1 = await open(context, user);
    const tab2 = await open(context, user);
    // The sign-in reaches tab 2 at once (as Clerk's does): both tabs try to start; the lock lets one.
    await signIn(tab1, `Two tabs ${tag()}`);
    await signedIn(tab2);
    expect(starts.get(user)).toBe(1);

    const burst = (page: Page) =>
      page.evaluate(async () => {
        const { client } = (window as unknown as { sessionguardExample: { client: any } }).sessionguardExample;
        const results = await Promise.allSettled([client.refresh(), client.getAccessToken(), client.refresh()]);
        return results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
      });
    for (let round = 0; round < 20; round++) {
      const failures = await Promise.all([burst(tab1), burst(tab2)]);
      expect(failures.flat(), `round ${round}`).toEqual([]);
    }
    for (const tab of [tab1, tab2]) {
      // The lists reload when the user comes back to the tab (no button any more).
      await tab.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
      expect(await tab.getByRole("heading", { name: "Signed in" }).isVisible()).toBe(true);
      expect(await tab.getByRole("alert").count()).toBe(0);
      expect(await devices(tab).count()).toBe(1);
    }
    await tab1.locator(".sg-events li").first().waitFor();
    expect(await tab1.locator(".sg-events li[data-type=refresh_token_reused]").count()).toBe(0);
    expect(starts.get(user)).toBe(1);
  });

  it("an identity sign-out signs out of sessionguard, in every tab", async () => {
    const context = await harness.newContext();
    const user = `user_${tag()}`;
    const tab1 = await open(context, user);
    await signIn(tab1, `Shared ${tag()}`);
    const tab2 = await open(context, user);
    await signedIn(tab2);
    const sessionId = await tab1.evaluate(async () =>
      (await (window as unknown as { sessionguardExample: { client: any } }).sessionguardExample.client.getSession())
        .session_id
    );
    // As Clerk does when the user signs out elsewhere: the identity is gone, other tabs hear of it.
    await tab1.evaluate(() => localStorage.removeItem("example.local-identity"));
    for (const tab of [tab1, tab2]) await tab.getByRole("button", { name: "Sign in as the demo user" }).waitFor();
    // The server ended that very session: its signed_out event, read after signing in again.
    await signIn(tab1, `Again ${tag()}`);
    const types = await tab1.evaluate(async (id) => {
      const { client } = (window as unknown as { sessionguardExample: { client: any } }).sessionguardExample;
      const events: { type: string; session_id: string }[] = await client.listEvents();
      return events.filter((e) => e.session_id === id).map((e) => e.type);
    }, sessionId);
    expect(types).toContain("signed_out");
    expect(await devices(tab1).count()).toBe(1);
  });

  it("the identity switching accounts replaces the session without signing the new account out", async () => {
    const userA = `user_${tag()}`;
    const userB = `user_${tag()}`;
    const page = await open(await harness.newContext(), userA);
    await signIn(page, `Switcher ${tag()}`);
    const sessionA = await page.evaluate(async () =>
      (await (window as unknown as { sessionguardExample: { client: any } }).sessionguardExample.client.getSession())
        .session_id
    );
    // As Clerk's multi-session switch: the identity is now another user, with no sign-out between.
    starts.set(userB, 0);
    page.on("request", (request) => {
      if (request.method() === "POST" && new URL(request.url()).pathname.endsWith("/session/start")) {
        starts.set(userB, (starts.get(userB) ?? 0) + 1);
      }
    });
    await page.evaluate((userId) => {
      const sessionId = `sess_${crypto.randomUUID().replaceAll("-", "")}`;
      localStorage.setItem("example.local-identity", JSON.stringify({ userId, sessionId }));
      dispatchEvent(new StorageEvent("storage", { key: "example.local-identity" }));
    }, userB);
    await page.getByTestId("user-id").filter({ hasText: userB }).waitFor();
    await page.waitForTimeout(500);
    expect(starts.get(userB)).toBe(1);
    expect(await page.getByRole("button", { name: "Sign in as the demo user" }).count()).toBe(0);
    expect(await page.evaluate(() => localStorage.getItem("example.local-identity"))).toContain(userB);
    expect(await page.getByRole("alert").count()).toBe(0);
    // A's session was ended on the server, not just forgotten here.
    const a = await open(await harness.newContext(), userA);
    await signIn(a, `A again ${tag()}`);
    const types = await a.evaluate(async (id) => {
      const { client } = (window as unknown as { sessionguardExample: { client: any } }).sessionguardExample;
      const events: { type: string; session_id: string }[] = await client.listEvents();
      return events.filter((e) => e.session_id === id).map((e) => e.type);
    }, sessionA);
    expect(types).toContain("signed_out");
  });

  it("revoking a device from one browser (by keyboard) signs the other out", async () => {
    const user = `user_${tag()}`;
    const a = await open(await harness.newContext(), user);
    const b = await open(await harness.newContext(), user);
    const nameA = `Browser A ${tag()}`;
    const nameB = `Browser B ${tag()}`;
    await signIn(b, nameB);
    await signIn(a, nameA);
    await a.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    const revokeB = a.getByRole("button", { name: `Sign out ${nameB}` });
    await revokeB.waitFor();
    // Buttons are disabled while an action runs; a keypress on a disabled one does nothing.
    await expect.poll(() => revokeB.isEnabled()).toBe(true);
    await revokeB.focus();
    await a.keyboard.press("Enter");
    await a.locator(".sg-devices [role=status]", { hasText: `${nameB} was signed out.` }).waitFor();
    expect(await a.locator(".sg-devices tbody tr", { hasText: nameB }).count()).toBe(0);
    // Focus is not lost with the removed button: it moved to the list's heading.
    expect(await a.evaluate(() => document.activeElement?.textContent)).toBe("Your devices");

    // B's next request (the user back on the tab) finds its session revoked: signed out,
    // with the reason, and not restarted.
    await b.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    const alert = b.getByRole("alert");
    await alert.waitFor();
    await expect(alert.textContent()).resolves.toContain("ended from another device");
    expect(await alert.getAttribute("data-reason")).toBe("session_revoked");
    await b.getByRole("button", { name: "Sign in as the demo user" }).waitFor();
    await b.waitForTimeout(500);
    expect(await b.getByRole("heading", { name: "Signed in" }).count()).toBe(0);
    expect(starts.get(user)).toBe(2); // one per browser, none after the revocation
    await b.screenshot({ path: screenshotPath("react-02-revoked-elsewhere"), fullPage: true });
  });

  it("revoking a device signs the other out at once through Realtime: its channels left, no request of its own", async () => {
    const user = `user_${tag()}`;
    const a = await open(await harness.newContext(), user);
    const b = await open(await harness.newContext(), user);
    // B's Realtime frames, as its browser sent and received them.
    const received: unknown[][] = [];
    const sent: unknown[][] = [];
    b.on("websocket", (socket) => {
      if (!socket.url().includes("/realtime/v1/websocket")) return;
      socket.on("framereceived", ({ payload }) => received.push(JSON.parse(String(payload))));
      socket.on("framesent", ({ payload }) => sent.push(JSON.parse(String(payload))));
    });
    const nameA = `Browser A ${tag()}`;
    const nameB = `Browser B ${tag()}`;
    await signIn(b, nameB);
    await signIn(a, nameA);
    // B has joined its user's sessionguard topic (the server answered the join ok).
    const isTopic = (frame: unknown[]) => /^realtime:sessionguard:/.test(String(frame[2]));
    await expect.poll(() =>
      received.some((f) => isTopic(f) && f[3] === "phx_reply" && (f[4] as { status?: string }).status === "ok"), {
      timeout: 15_000,
    }).toBe(true);
    const sessionCalls: string[] = [];
    b.on("request", (request) => {
      if (request.url().includes("/functions/v1/session/")) sessionCalls.push(request.url());
    });

    await a.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    const revokeB = a.getByRole("button", { name: `Sign out ${nameB}` });
    await expect.poll(() => revokeB.isEnabled(), { timeout: 15_000 }).toBe(true);
    await revokeB.click();

    // B, left alone, hears it and shows why.
    const alert = b.getByRole("alert");
    await alert.waitFor();
    expect(await alert.getAttribute("data-reason")).toBe("session_revoked");
    expect(received.some((f) => isTopic(f) && f[3] === "broadcast" &&
      (f[4] as { event?: string }).event === "session_revoked")).toBe(true);
    await expect.poll(() => sent.some((f) => isTopic(f) && f[3] === "phx_leave")).toBe(true);
    // Nothing asked the session function: the announcement alone signed it out.
    expect(sessionCalls).toEqual([]);
    await b.getByRole("button", { name: "Sign in as the demo user" }).waitFor();
  });

  it("a sign-in on another device shows in this device's list at once, announced over Realtime (the poll is 30 s)", async () => {
    const user = `user_${tag()}`;
    const a = await open(await harness.newContext(), user);
    const joinedTopic = new Promise<void>((resolve) => {
      a.on("websocket", (socket) => {
        socket.on("framereceived", ({ payload }) => {
          const frame = JSON.parse(String(payload)) as unknown[];
          const ok = (frame[4] as { status?: string } | null)?.status === "ok";
          if (/^realtime:sessionguard:/.test(String(frame[2])) && frame[3] === "phx_reply" && ok) resolve();
        });
      });
    });
    await signIn(a, `Browser A ${tag()}`);
    await joinedTopic;
    const b = await open(await harness.newContext(), user);
    const nameB = `Browser B ${tag()}`;
    await signIn(b, nameB);
    // A does nothing: no visibility change, and its list's 30 s poll is far off.
    await a.locator(".sg-devices tbody tr", { hasText: nameB }).waitFor({ timeout: 10_000 });
  });

  it("a replayed refresh token shows the theft message, and the event afterwards", async () => {
    const user = `user_${tag()}`;
    // Unbound (the example binds by default): the demo's thief holds only the token.
    const page = await open(await harness.newContext(), user, { dpop: "off" });
    await signIn(page, `Victim ${tag()}`);
    await page.getByRole("button", { name: "Simulate a stolen refresh token" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.getAttribute("data-reason")).toBe("refresh_token_reused");
    await expect(alert.textContent()).resolves.toContain("For your safety we signed you out");
    // The story stays until dismissed: the demo's log and the activity as last shown.
    await expect(page.getByTestId("theft-log").textContent()).resolves.toContain("refresh_token_reused");
    expect(await page.locator(".sg-events li").count()).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath("react-03-theft"), fullPage: true });
    await page.getByRole("button", { name: "Dismiss" }).click();
    expect(await page.getByRole("alert").count()).toBe(0);
    expect(await page.getByTestId("theft-log").count()).toBe(0);
    expect(await page.locator(".sg-events").count()).toBe(0);

    await signIn(page, `Victim again ${tag()}`);
    await page.locator(".sg-events li[data-type=refresh_token_reused]").first().waitFor();
    expect(await page.getByRole("alert").count()).toBe(0);
  });

  it("fits a 390 px phone: no sideways scrolling, the device list as cards, every action in the window", async () => {
    const user = `user_${tag()}`;
    const otherName = `Tablet with a long name ${tag()}`;
    await signIn(await open(await harness.newContext(), user), otherName);
    const page = await open(await harness.newContext(390), user);
    await signIn(page, `Phone ${tag()}`);
    await expect.poll(() => devices(page).count()).toBe(2);
    const m = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      rowDisplay: getComputedStyle(document.querySelector(".sg-devices tbody tr")!).display,
      buttons: [...document.querySelectorAll(".sg-devices tbody button")].map((b) => {
        const r = b.getBoundingClientRect();
        return { left: r.left, right: r.right, width: r.width };
      }),
    }));
    expect(m.innerWidth).toBe(390);
    expect(m.scrollWidth).toBeLessThanOrEqual(m.innerWidth);
    expect(m.rowDisplay).toBe("block");
    expect(m.buttons).toHaveLength(2);
    for (const b of m.buttons) {
      expect(b.width).toBeGreaterThan(0);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.right).toBeLessThanOrEqual(m.innerWidth);
    }
    await page.screenshot({ path: screenshotPath("react-05-phone-390"), fullPage: true });
  });

  it("the components pass axe-core (WCAG 2.1 A and AA)", async () => {
    const user = `user_${tag()}`;
    const other = await open(await harness.newContext(), user);
    await signIn(other, `Phone ${tag()}`);
    const page = await open(await harness.newContext(), user);
    await signIn(page, `Desk ${tag()}`);
    await page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    await expect.poll(() => devices(page).count()).toBe(2);
    await page.locator(".sg-events li").first().waitFor();
    const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
    await page.addScriptTag({ content: axeSource });
    const results = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: any }).axe;
      const r = await axe.run({ include: [[".sg-devices"], [".sg-events"]] }, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
      });
      return {
        violations: r.violations.map((v: any) => ({ id: v.id, nodes: v.nodes.map((n: any) => n.target) })),
        passes: r.passes.length,
      };
    });
    expect(results.violations).toEqual([]);
    expect(results.passes).toBeGreaterThan(5); // axe really looked at the components
    await page.screenshot({ path: screenshotPath("react-04-devices-and-events"), fullPage: true });
  });
});

// <ClerkSessionSync/> under the real @clerk/react (6.18.0) in strict mode; clerk-js, which
// would load from a Clerk instance's Frontend API, is the stand-in in clerk-glue/fake-clerk.ts.
describe("Clerk glue", { timeout: 90_000 }, () => {
  let glue: ExampleServer;
  beforeAll(async () => {
    glue = await startExample(new URL(harness.stack.pageUrl).origin, "tests/browser/clerk-glue/vite.config.ts");
  }, 90_000);
  afterAll(async () => {
    await glue?.stop();
  });

  async function openGlue(context: BrowserContext, user: string): Promise<Page> {
    const page = await context.newPage();
    page.on("pageerror", (err) => console.error("page error:", err));
    page.on("request", (request) => {
      if (request.method() === "POST" && new URL(request.url()).pathname.endsWith("/session/start")) {
        starts.set(user, (starts.get(user) ?? 0) + 1);
      }
    });
    await page.goto(glue.url);
    await page.getByTestId("clerk").filter({ hasNotText: "loading" }).waitFor();
    return page;
  }
  const text = (page: Page, id: string) => page.getByTestId(id).textContent();

  it("a Clerk sign-in starts one session; a Clerk sign-out ends it", async () => {
    const user = `user_${tag()}`;
    const context = await harness.newContext();
    const page = await openGlue(context, user);
    const other = await openGlue(context, user);
    await page.evaluate((u) => (window as any).fakeClerk.signInAs(u), user);
    await page.getByTestId("sessionguard").filter({ hasText: `signed-in ${user}` }).waitFor();
    // The other tab's Clerk follows after a reload (the stand-in does not sync tabs itself).
    await other.reload();
    await other.getByTestId("sessionguard").filter({ hasText: `signed-in ${user}` }).waitFor();
    await page.waitForTimeout(300);
    expect(starts.get(user)).toBe(1);
    const sessionId = await page.evaluate(async () => (await (window as any).glue.client.getSession()).session_id);

    await page.evaluate(() => (window as any).fakeClerk.signOut());
    await page.getByTestId("sessionguard").filter({ hasText: "signed-out" }).waitFor();
    await other.getByTestId("sessionguard").filter({ hasText: "signed-out" }).waitFor();
    // Ended on the server too: sign in again and read that session's events.
    await page.evaluate((u) => (window as any).fakeClerk.signInAs(u), user);
    await page.getByTestId("sessionguard").filter({ hasText: `signed-in ${user}` }).waitFor();
    const types = await page.evaluate(async (id) => {
      const events: { type: string; session_id: string }[] = await (window as any).glue.client.listEvents();
      return events.filter((e) => e.session_id === id).map((e) => e.type);
    }, sessionId);
    expect(types).toContain("signed_out");
    expect(starts.get(user)).toBe(2); // one per Clerk session
  });

  it("theft detected by sessionguard signs out of Clerk", async () => {
    const user = `user_${tag()}`;
    const page = await openGlue( await harness.newContext(), user);
    await page.evaluate((u) => (window as any).fakeClerk.signInAs(u), user);
    await page.getByTestId("sessionguard").filter({ hasText: `signed-in ${user}` }).waitFor();
    const code = await page.evaluate(async () => {
      const { client, storage } = (window as any).glue;
      let token = JSON.parse(await storage.get("sessionguard.session")).refresh_token;
      for (let i = 0; i < 2; i++) { // the thief rotates with a copy, twice
        const res = await fetch(`${location.origin}/functions/v1/session/refresh`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ refresh_token: token }),
        });
        token = (await res.json()).refresh_token;
      }
      return await client.refresh().then(() => "refreshed", (err: { code: string }) => err.code);
    });
    expect(code).toBe("refresh_token_reused");
    await page.getByTestId("clerk").filter({ hasText: "signed-out" }).waitFor();
    expect(await text(page, "reason")).toBe("refresh_token_reused");
    expect(await page.evaluate(() => (window as any).fakeClerk.signOutCalls)).toBeGreaterThanOrEqual(1);
    // The Clerk session that was signed out does not come back with a new sessionguard session.
    await page.waitForTimeout(500);
    expect(starts.get(user)).toBe(1);
  });
});
