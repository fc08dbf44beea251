/**
 * P15 in Chromium: switching the active organization in Clerk (the stand-in clerk-js of
 * clerk-glue/fake-clerk.ts under the real @clerk/react) updates the sessionguard session
 * through <ClerkSessionSync/> and POST /claims, without signing in again: the same
 * session, one /start, and the access tokens the app sends carry the new organization.
 */
import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExampleServer, startExample } from "../support/browser/example-server.ts";
import { type BrowserStack, launchBrowser, startBrowserStack } from "../support/browser/launcher.ts";

let stack: BrowserStack;
let glue: ExampleServer;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startBrowserStack(), launchBrowser()]);
  glue = await startExample(new URL(stack.pageUrl).origin, "tests/browser/clerk-glue/vite.config.ts");
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await glue?.stop();
  await stack?.stop();
});

/** The claims of the access token the client would send now. */
function accessClaims(page: Page): Promise<Record<string, unknown>> {
  return page.evaluate(async () => {
    const token: string = await (window as any).glue.client.getAccessToken();
    const part = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    return JSON.parse(atob(part));
  });
}

async function waitForOrg(page: Page, orgId: string | undefined): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const claims = await accessClaims(page);
    if (claims.org_id === orgId) return claims;
    await page.waitForTimeout(100);
  }
  throw new Error(`the access token never carried org_id ${orgId}`);
}

describe("organizations through the Clerk glue", { timeout: 90_000 }, () => {
  it("switching organization updates the session without signing in again", async () => {
    const user = `user_${randomBytes(4).toString("hex")}`;
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on("pageerror", (err) => console.error("page error:", err));
    const paths: string[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST") paths.push(new URL(request.url()).pathname.split("/").pop()!);
    });
    await page.goto(glue.url);
    await page.getByTestId("clerk").filter({ hasNotText: "loading" }).waitFor();
    await page.evaluate((u) => (window as any).fakeClerk.signInAs(u), user);
    await page.getByTestId("sessionguard").filter({ hasText: `signed-in ${user}` }).waitFor();
    const sessionId = (await accessClaims(page)).sid;
    expect((await accessClaims(page)).org_id).toBeUndefined();

    await page.evaluate(() => (window as any).fakeClerk.setActiveOrganization({ id: "org_acme", role: "admin" }));
    await page.getByTestId("org").filter({ hasText: "org_acme" }).waitFor();
    expect(await waitForOrg(page, "org_acme")).toMatchObject({ sid: sessionId, org_role: "org:admin" });

    await page.evaluate(() => (window as any).fakeClerk.setActiveOrganization({ id: "org_globex", role: "member" }));
    expect(await waitForOrg(page, "org_globex")).toMatchObject({ sid: sessionId, org_role: "org:member" });

    await page.evaluate(() => (window as any).fakeClerk.setActiveOrganization(null));
    expect((await waitForOrg(page, undefined)).sid).toBe(sessionId);

    expect(paths.filter((p) => p === "start")).toHaveLength(1);
    expect(paths.filter((p) => p === "claims")).toHaveLength(3);
    const changes = await page.evaluate(async () => {
      const events: { type: string; description: string }[] = await (window as any).glue.client.listEvents();
      return events.filter((e) => e.type === "session_claims_changed").map((e) => e.description);
    });
    expect(changes).toHaveLength(3);
    expect(changes.some((d) => d.includes("switched to organization globex as org:member"))).toBe(true);
    await context.close();
  });
});
