/**
 * The main promise, in Chromium, with only what `npm start` and `npm run example` give:
 * two browsers of one user write and read notes through supabase-js and `npm start`'s
 * Data API (/rest/v1); one revokes the other from its device list, and the revoked
 * browser's very next notes query comes back empty, while its access token is still
 * unexpired, and the other browser's still works.
 */
import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { useExampleHarness } from "../support/browser/example-harness.ts";
import { screenshotPath } from "../support/browser/launcher.ts";

const harness = useExampleHarness();

const tag = () => randomBytes(4).toString("hex");

async function open(user: string, options: { realtime?: boolean } = {}): Promise<Page> {
  const context = await harness.newContext();
  const page = await context.newPage();
  // Without Realtime the page cannot hear the announcement of its session's end (a device
  // whose socket is down): its websocket reaches nothing that answers.
  if (options.realtime === false) await page.routeWebSocket(/\/realtime\/v1\//, () => {});
  const url = new URL(harness.example.url);
  url.searchParams.set("user", user);
  await page.goto(url.href);
  await page.locator("h1", { hasText: "Notes" }).waitFor();
  return page;
}

async function signIn(page: Page, deviceName: string): Promise<void> {
  await page.getByLabel("Name this device").fill(deviceName);
  await page.getByRole("button", { name: "Sign in as the demo user" }).click();
  await page.getByRole("heading", { name: "Signed in" }).waitFor();
  await page.locator(".sg-devices tr[data-current]").waitFor();
}

async function addNote(page: Page, body: string): Promise<void> {
  await page.getByLabel("New note").fill(body);
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await page.locator("ul.notes li", { hasText: body }).waitFor();
}

/** The notes query the page makes, and its answer as the page received it. */
async function reloadNotes(page: Page): Promise<{ status: number; rows: unknown[] }> {
  const [response] = await Promise.all([
    page.waitForResponse((r) =>
      new URL(r.url()).pathname === "/rest/v1/notes" && r.request().method() === "GET"
    ),
    page.getByRole("button", { name: "Reload notes" }).click(),
  ]);
  return { status: response.status(), rows: (await response.json()) as unknown[] };
}

describe("notes through npm start's Data API", { timeout: 90_000 }, () => {
  it("a revoked browser's next notes query comes back empty; the other browser's still works", async () => {
    const user = `user_${tag()}`;
    const a = await open(user);
    // B misses the announcement (tests/browser/react-example.test.ts shows a page that hears
    // it sign out at once): what stops it is the database, on its very next query.
    const b = await open(user, { realtime: false });
    const nameA = `Browser A ${tag()}`;
    const nameB = `Browser B ${tag()}`;
    await signIn(b, nameB);
    await signIn(a, nameA);
    await addNote(a, "written by A");
    await addNote(b, "written by B");
    expect((await reloadNotes(b)).rows).toHaveLength(2);
    const tokenBefore = await b.evaluate(async () =>
      (window as unknown as { sessionguardExample: { client: { getAccessToken(): Promise<string> } } })
        .sessionguardExample.client.getAccessToken()
    );

    // A signed in after B, so its device list already holds B's row.
    const revokeB = a.getByRole("button", { name: `Sign out ${nameB}` });
    await revokeB.waitFor();
    await expect.poll(() => revokeB.isEnabled()).toBe(true);
    await revokeB.click();
    await a.locator(".sg-devices [role=status]", { hasText: `${nameB} was signed out.` }).waitFor();

    // B's next query: same, unexpired access token; the database answers with nothing.
    const after = await reloadNotes(b);
    expect(after.status).toBe(200);
    expect(after.rows).toEqual([]);
    await b.locator("[role=status]", { hasText: "No notes to show." }).waitFor();
    expect(await b.locator("ul.notes li").count()).toBe(0);
    const tokenAfter = await b.evaluate(async () =>
      (window as unknown as { sessionguardExample: { client: { getAccessToken(): Promise<string> } } })
        .sessionguardExample.client.getAccessToken()
    ).catch(() => null);
    // Had B refreshed, it would have been refused; the emptiness came from the revocation itself.
    expect([tokenBefore, null]).toContain(tokenAfter);
    await b.screenshot({ path: screenshotPath("notes-01-revoked-browser-empty"), fullPage: true });

    const stillA = await reloadNotes(a);
    expect(stillA.status).toBe(200);
    expect(stillA.rows).toHaveLength(2);
    expect(await a.locator("ul.notes li").count()).toBe(2);
  });
});
