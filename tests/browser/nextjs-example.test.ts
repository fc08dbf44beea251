/**
 * The Next.js example (examples/nextjs, `next build` + `next start`, one Node process)
 * in headless Chromium against `npm start`'s stack (SESSION_REUSE_GRACE=0: any refresh
 * token presented twice outside this process's own single-flight is theft), signing in
 * through the local development issuer. The example runs with a refresh margin longer
 * than an access token lives, so every request's proxy finds its token due and rotates:
 * each server request below is "at expiry". Screenshots go to test-results/browser/.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateServerKeyJwk } from "../../packages/server/src/index.ts";
import { freePort } from "../../scripts/lib/ports.ts";
import { type BrowserStack, launchBrowser, screenshotPath, startBrowserStack } from "../support/browser/launcher.ts";
import { type NextExample, startNextExample } from "../support/browser/next-example.ts";

let stack: BrowserStack;
let app: NextExample;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([startBrowserStack(), launchBrowser()]);
  app = await startNextExample({
    SG_STACK_URL: new URL(stack.pageUrl).origin,
    SESSIONGUARD_SERVER_KEY: JSON.stringify(await generateServerKeyJwk()),
    SESSIONGUARD_REFRESH_MARGIN: "100000",
  });
  console.log(`Next.js example ${app.url} against ${stack.kind}: ${stack.pageUrl}`);
}, 900_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await app?.stop();
  await stack?.stop();
});

const tag = () => randomBytes(4).toString("hex");

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
  await page.goto(app.url);
  await page.getByRole("heading", { name: "Notes" }).waitFor();
  return page;
}

async function signIn(page: Page, user: string, device = `Browser ${tag()}`): Promise<void> {
  await page.getByLabel("Demo user").fill(user);
  await page.getByLabel("Name this device").fill(device);
  await page.getByRole("button", { name: "Sign in as the demo user" }).click();
  await page.getByRole("heading", { name: "Signed in" }).waitFor();
}

const sessionCookie = async (page: Page) => (await page.context().cookies()).find((c) => c.name === "sessionguard");
/** The page's sign-out message (Next.js's route announcer is another role=alert element). */
const reasonAlert = (page: Page) => page.locator("p[role=alert][data-reason]");
const reuseEvents = (page: Page) => page.locator(".sg-events li[data-type=refresh_token_reused]").count();

describe("Next.js example", { timeout: 120_000 }, () => {
  it("signs in, and the server render reads the user's devices and events as that user", async () => {
    const page = await newPage();
    await signIn(page, `u${tag()}`, "Laptop");
    const userId = await page.getByTestId("user-id").textContent();
    expect(userId).toMatch(/^user_demo_u[0-9a-f]{8}$/);
    await expect(page.locator(".sg-devices tr[data-current]").textContent()).resolves.toContain("Laptop (this browser)");
    await page.locator(".sg-events li[data-type=session_started]").first().waitFor();
    // A reload rotates (every request is due) and stays signed in as the same session.
    const sessionId = await page.getByTestId("session-id").textContent();
    const before = (await sessionCookie(page))!.value;
    await page.reload();
    await page.getByRole("heading", { name: "Signed in" }).waitFor();
    expect(await page.getByTestId("session-id").textContent()).toBe(sessionId);
    expect((await sessionCookie(page))!.value).not.toBe(before);
    await page.screenshot({ path: screenshotPath("nextjs-01-signed-in"), fullPage: true });
  });

  it("a server-rendered page reads and writes the user's notes as that user, through RLS", async () => {
    const page = await newPage();
    await signIn(page, `n${tag()}`);
    const body = `note ${tag()}`;
    await page.getByLabel("New note").fill(body);
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByTestId("notes").locator("li", { hasText: body }).waitFor();
    expect(await page.getByTestId("notes-error").count()).toBe(0);
    // Another user's server render, through the same Data API, sees none of it.
    const other = await newPage();
    await signIn(other, `o${tag()}`);
    await other.getByTestId("notes").waitFor({ state: "attached" });
    expect(await other.getByTestId("notes").locator("li", { hasText: body }).count()).toBe(0);
  });

  it("the session cookie is HttpOnly, SameSite=Lax, absent from document.cookie, and a page script cannot overwrite it", async () => {
    const page = await newPage();
    await signIn(page, `u${tag()}`);
    const cookie = (await sessionCookie(page))!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
    // On http://127.0.0.1 the __Host- prefix and Secure cannot be used (docs/server-rendering.md).
    expect(cookie.secure).toBe(false);
    const seen = await page.evaluate(() => document.cookie);
    expect(seen).not.toContain("sessionguard");
    expect(seen).not.toContain(cookie.value.slice(0, 24));
    await page.evaluate(() => (document.cookie = "sessionguard=forged; path=/"));
    expect((await sessionCookie(page))!.value).toBe(cookie.value);
  });

  it("twenty parallel server requests at expiry do not sign the user out", async () => {
    const page = await newPage();
    await signIn(page, `u${tag()}`);
    const sessionId = await page.getByTestId("session-id").textContent();
    const before = (await sessionCookie(page))!.value;
    const answers = await page.evaluate(async () => {
      const responses = await Promise.all(Array.from({ length: 20 }, () => fetch("/api/me", { cache: "no-store" })));
      return await Promise.all(responses.map(async (r) => ({ status: r.status, body: await r.json() })));
    });
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => a.body.session_id))).toEqual(new Set([sessionId]));
    expect((await sessionCookie(page))!.value).not.toBe(before); // they did rotate
    // Twice more, racing page renders this time, then the next render is still signed in.
    for (let round = 0; round < 2; round++) {
      const statuses = await page.evaluate(async () =>
        (await Promise.all(Array.from({ length: 20 }, () => fetch("/", { cache: "no-store" })))).map((r) => r.status)
      );
      expect(statuses).toEqual(Array(20).fill(200));
    }
    await page.reload();
    await page.getByRole("heading", { name: "Signed in" }).waitFor();
    expect(await page.getByTestId("session-id").textContent()).toBe(sessionId);
    expect(await reuseEvents(page)).toBe(0);
    expect(await reasonAlert(page).count()).toBe(0);
  });

  it("revoking from another browser makes the next server render show the user signed out", async () => {
    const user = `u${tag()}`;
    const a = await newPage();
    const b = await newPage();
    await signIn(b, user, "Browser B");
    await signIn(a, user, "Browser A");
    const bSession = await b.getByTestId("session-id").textContent();
    await a.locator(`.sg-devices tr[data-session-id="${bSession}"]`).getByRole("button", { name: /Revoke/ }).click();
    await a.locator(`.sg-devices tr[data-session-id="${bSession}"]`).waitFor({ state: "detached" });
    await b.reload();
    const alert = reasonAlert(b);
    await alert.waitFor();
    expect(await alert.getAttribute("data-reason")).toBe("session_revoked");
    await expect(alert.textContent()).resolves.toContain("ended from another device");
    await b.getByRole("button", { name: "Sign in as the demo user" }).waitFor();
    expect(await sessionCookie(b)).toBeUndefined();
    await b.screenshot({ path: screenshotPath("nextjs-02-revoked-elsewhere"), fullPage: true });
    // A is untouched.
    await a.reload();
    await a.getByRole("heading", { name: "Signed in" }).waitFor();
  });

  it("a replayed cookie value shows the theft message, and the honest copy is signed out too", async () => {
    const page = await newPage();
    await signIn(page, `u${tag()}`);
    const stolen = (await sessionCookie(page))!;
    for (let i = 0; i < 2; i++) {
      await page.reload(); // two rotations: the stolen value is now two generations old
      await page.getByRole("heading", { name: "Signed in" }).waitFor();
    }
    const honest = (await sessionCookie(page))!;
    const thief = await newPage();
    await thief.context().addCookies([stolen]);
    await thief.reload();
    const alert = reasonAlert(thief);
    await alert.waitFor();
    expect(await alert.getAttribute("data-reason")).toBe("refresh_token_reused");
    await expect(alert.textContent()).resolves.toContain("may have been stolen");
    expect(honest.value).not.toBe(stolen.value);
    await page.reload();
    expect(await reasonAlert(page).getAttribute("data-reason")).toBe("session_revoked");
    await thief.screenshot({ path: screenshotPath("nextjs-03-replayed-cookie"), fullPage: true });
  });

  it("the theft demo button ends the session with the theft message", async () => {
    const page = await newPage();
    const user = `u${tag()}`;
    await signIn(page, user);
    await page.getByRole("button", { name: "Simulate a stolen session cookie" }).click();
    const alert = reasonAlert(page);
    await alert.waitFor();
    expect(await alert.getAttribute("data-reason")).toBe("refresh_token_reused");
    await page.getByRole("button", { name: "Sign in as the demo user" }).waitFor();
    // Signing in again shows the reuse in the security activity.
    await signIn(page, user);
    await page.locator(".sg-events li[data-type=refresh_token_reused]").first().waitFor();
  });

  it("a cross-site or same-site-other-origin form post is refused, and the user stays signed in", async () => {
    const page = await newPage();
    await signIn(page, `u${tag()}`);
    const sessionId = await page.getByTestId("session-id").textContent();
    const target = `${app.url}/api/sessionguard`;
    const attackerPage = `<!doctype html><form method="post" action="${target}">
      <input name="action" value="signout"><input name="scope" value="global"></form>
      <script>document.forms[0].submit()</script>`;
    const port = await freePort();
    const attacker: Server = createServer((_, res) => res.writeHead(200, { "content-type": "text/html" }).end(attackerPage));
    await new Promise<void>((resolve) => attacker.listen(port, "127.0.0.1", resolve));
    try {
      // Another port of the same host: same site, so the Lax cookies do go along; the origin check must refuse.
      // "localhost" against 127.0.0.1: another site altogether.
      for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
        const attack = await page.context().newPage();
        const answer = attack.waitForResponse((r) => r.url() === target);
        await attack.goto(`${origin}/`);
        const response = await answer;
        expect(response.status(), origin).toBe(403);
        expect(await response.json()).toEqual({ error: "csrf_rejected" });
        await attack.close();
      }
    } finally {
      await new Promise((resolve) => attacker.close(resolve));
    }
    await page.reload();
    await page.getByRole("heading", { name: "Signed in" }).waitFor();
    expect(await page.getByTestId("session-id").textContent()).toBe(sessionId);
    expect(await page.locator(".sg-events li[data-type=signed_out]").count()).toBe(0);
  });
});
