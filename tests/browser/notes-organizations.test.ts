/**
 * Issue 24 in Chromium, with only what `npm start` and `npm run example` give: in the
 * example app, switching the active organization changes what the notes list shows,
 * without signing in again. The organization reaches the session through
 * useSessionSync → POST /claims (tokens of the local development issuer carrying Clerk's
 * v2 `o` claim); the notes policies (examples/notes/supabase/migrations/
 * 20261208120000_org_notes.sql) read it from the session row. One POST /start, one
 * session id throughout; a direct supabase-js query for the other organization's notes,
 * with the page's own access token, gets nothing.
 */
import { randomBytes } from "node:crypto";
import { createClient } from "@supabase/supabase-js";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { useExampleHarness } from "../support/browser/example-harness.ts";
import { screenshotPath } from "../support/browser/launcher.ts";

/** The local publishable key the example uses (examples/react-vite/src/config.ts). */
const LOCAL_PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";

/** Node 20 has no WebSocket; Realtime is not used here, supabase-js only needs a constructor. */
class NoWebSocket {
  constructor() {
    throw new Error("Realtime is not used in this test");
  }
}

const harness = useExampleHarness();

const tag = () => randomBytes(4).toString("hex");

interface Opened {
  page: Page;
  /** Path tails of the session function's POSTs (`start`, `claims`, `refresh`, ...). */
  posts: string[];
  /** The notes the first load after sign-in got. */
  first: string[];
}

/** The next notes query the page makes: the bodies the Data API answered. */
async function nextNotesQuery(page: Page): Promise<string[]> {
  const response = await page.waitForResponse((r) =>
    new URL(r.url()).pathname === "/rest/v1/notes" && r.request().method() === "GET"
  );
  expect(response.status()).toBe(200);
  return ((await response.json()) as Array<{ body: string }>).map((row) => row.body);
}

/** The example for `user`, with demo organizations of its own (`?orgs=`), signed in. */
async function openSignedIn(user: string, orgs: string, deviceName: string, width = 1100): Promise<Opened> {
  const context = await harness.newContext(width);
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
  const posts: string[] = [];
  page.on("request", (request) => {
    const { pathname } = new URL(request.url());
    if (request.method() === "POST" && pathname.startsWith("/functions/v1/session/")) {
      posts.push(pathname.slice("/functions/v1/session/".length));
    }
  });
  const url = new URL(harness.example.url);
  url.searchParams.set("user", user);
  url.searchParams.set("orgs", orgs);
  await page.goto(url.href);
  await page.getByLabel("Name this device").fill(deviceName);
  const loaded = nextNotesQuery(page);
  await page.getByRole("button", { name: "Sign in as the demo user" }).click();
  await page.getByRole("heading", { name: "Signed in" }).waitFor();
  await scope(page, null);
  const first = await loaded;
  await expect.poll(() => listed(page), { timeout: 15_000 }).toEqual(first);
  return { page, posts, first };
}

/** Waits until the notes list says it lists `orgId` (null: personal notes). */
async function scope(page: Page, orgId: string | null): Promise<void> {
  await page.locator(`[data-testid=notes-scope][data-org-id="${orgId ?? ""}"]`).waitFor();
}

/**
 * Picks an organization in the page's picker; the switch must go through POST /claims,
 * whose answer names it. Resolves with what the notes query made for it answered, once
 * the list shows exactly that.
 */
async function switchTo(page: Page, orgId: string | null): Promise<string[]> {
  const claims = page.waitForResponse((r) =>
    new URL(r.url()).pathname === "/functions/v1/session/claims" && r.request().method() === "POST"
  );
  const reloaded = nextNotesQuery(page);
  await page.getByLabel("Active organization").selectOption(orgId ?? "");
  const answer = await claims;
  expect(answer.status()).toBe(200);
  expect(((await answer.json()) as { organization: { id: string } | null }).organization?.id ?? null).toBe(
    orgId,
  );
  await scope(page, orgId);
  const bodies = await reloaded;
  await expect.poll(() => listed(page), { timeout: 15_000 }).toEqual(bodies);
  return bodies;
}

function listed(page: Page): Promise<string[]> {
  return page.locator("ul.notes li").allTextContents();
}

async function addNote(page: Page, body: string): Promise<void> {
  await page.getByLabel("New note").fill(body);
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await page.locator("ul.notes li", { hasText: body }).waitFor();
}

function sessionOf(page: Page): Promise<{ session_id: string; user_id: string } | null> {
  return page.evaluate(() =>
    (window as unknown as { sessionguardExample: { client: { getSession(): Promise<never> } } })
      .sessionguardExample.client.getSession()
  );
}

function accessTokenOf(page: Page): Promise<string> {
  return page.evaluate(() =>
    (window as unknown as { sessionguardExample: { client: { getAccessToken(): Promise<string> } } })
      .sessionguardExample.client.getAccessToken()
  );
}

/** supabase-js against the example's /rest/v1 (proxied to npm start's Data API) with a fixed token. */
function dataApi(token: string) {
  return createClient(harness.example.url, LOCAL_PUBLISHABLE_KEY, {
    accessToken: async () => token,
    realtime: { transport: NoWebSocket as never },
  });
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<
    string,
    unknown
  >;
}

describe("organization notes in the React example", { timeout: 120_000 }, () => {
  it("switching organization changes the notes listed, in one session, through POST /claims", async () => {
    const t = tag();
    const user = `user_${t}`;
    const orgA = `org_${t}_acme`;
    const orgB = `org_${t}_globex`;
    const { page, posts, first } = await openSignedIn(user, t, `Laptop ${t}`);
    expect(first).toEqual([]);
    const session = await sessionOf(page);
    expect(session?.user_id).toBe(user);

    await addNote(page, `personal ${t}`);
    expect(await switchTo(page, orgA)).toEqual([]);
    await page.getByText("Showing the notes of organization Acme Inc.").waitFor();
    await addNote(page, `acme ${t}`);
    const tokenFromA = await accessTokenOf(page);
    expect(await switchTo(page, orgB)).toEqual([]);
    await addNote(page, `globex ${t}`);
    expect(await listed(page)).toEqual([`globex ${t}`]);

    // The access token signed while A was active still says org_id A and has not expired,
    // but the policies read the session row: it now reads B's notes, and none of A's.
    expect(claimsOf(tokenFromA).org_id).toBe(orgA);
    const stale = dataApi(tokenFromA);
    const staleAll = await stale.from("notes").select("body, org_id");
    expect(staleAll.error).toBeNull();
    expect(staleAll.data).toEqual([{ body: `globex ${t}`, org_id: orgB }]);
    expect((await stale.from("notes").select("body").eq("org_id", orgA)).data).toEqual([]);

    // Back to A: A's note, none of B's, none personal.
    expect(await switchTo(page, orgA)).toEqual([`acme ${t}`]);
    await page.screenshot({ path: screenshotPath("notes-org-01-acme"), fullPage: true });

    // Adversarial: with A active, the page's own access token asks the Data API for B's
    // notes directly (supabase-js, as any script holding the token could). Nothing.
    const direct = dataApi(await accessTokenOf(page));
    const askB = await direct.from("notes").select("body, org_id").eq("org_id", orgB);
    expect(askB.error).toBeNull();
    expect(askB.data).toEqual([]);
    const askAll = await direct.from("notes").select("body, org_id");
    expect(askAll.error).toBeNull();
    expect(askAll.data).toEqual([{ body: `acme ${t}`, org_id: orgA }]);
    // Nor can it plant a note in B while A is active.
    const plant = await direct.from("notes").insert({ body: "planted", org_id: orgB });
    expect(plant.error?.code).toBe("42501");

    // No organization: the personal note again.
    expect(await switchTo(page, null)).toEqual([`personal ${t}`]);

    // Never signed in again: one /start, the same session, one /claims per switch; and a
    // reload keeps it so (the activity list loads afresh, with the switches in it).
    expect(posts.filter((p) => p === "claims")).toHaveLength(4);
    await page.reload();
    await page.getByRole("heading", { name: "Signed in" }).waitFor();
    await scope(page, null);
    await page.locator(".sg-events li[data-type=session_claims_changed]", {
      hasText: "switched to organization",
    })
      .first().waitFor();
    expect(posts.filter((p) => p === "start")).toHaveLength(1);
    expect((await sessionOf(page))?.session_id).toBe(session!.session_id);
    expect(await page.getByRole("button", { name: "Sign in as the demo user" }).count()).toBe(0);
  });

  it("another member of the organization sees its notes; outside it, they do not", async () => {
    const t = tag();
    const orgA = `org_${t}_acme`;
    const writer = await openSignedIn(`user_w${t}`, t, `Writer ${t}`);
    await switchTo(writer.page, orgA);
    await addNote(writer.page, `shared ${t}`);

    const reader = await openSignedIn(`user_r${t}`, t, `Reader ${t}`);
    expect(reader.first).toEqual([]);
    expect(await switchTo(reader.page, orgA)).toEqual([`shared ${t}`]);
    expect(await switchTo(reader.page, `org_${t}_globex`)).toEqual([]);
    expect(reader.posts.filter((p) => p === "start")).toHaveLength(1);
  });

  it("a switch the server refuses is said on the page and changes nothing; the next one that succeeds clears it", async () => {
    const t = tag();
    const orgA = `org_${t}_acme`;
    const orgB = `org_${t}_globex`;
    const { page } = await openSignedIn(`user_${t}`, t, `Laptop ${t}`);
    await addNote(page, `personal ${t}`);
    // The next POST /claims is refused, as the function refuses a token it will not take.
    let refused = 0;
    await page.route("**/functions/v1/session/claims", async (route) => {
      if (refused++ > 0) return await route.continue();
      await route.fulfill({
        status: 400,
        contentType: "application/json",
        body: JSON.stringify({ error: "invalid_request", error_description: "refused for this test" }),
      });
    });
    await page.getByLabel("Active organization").selectOption(orgA);
    await expect(page.getByTestId("org-switch-error").textContent()).resolves.toContain("Could not switch organization");
    // The session kept its claims: the notes list still lists the personal notes.
    await scope(page, null);
    expect(await listed(page)).toEqual([`personal ${t}`]);
    expect(claimsOf(await accessTokenOf(page)).org_id).toBeUndefined();

    expect(await switchTo(page, orgB)).toEqual([]);
    expect(await page.getByTestId("org-switch-error").count()).toBe(0);
    expect(refused).toBe(2);
  });

  it("the organization picker and the notes' scope fit a 320 px phone", async () => {
    const t = tag();
    const { page } = await openSignedIn(`user_${t}`, t, `Phone ${t}`, 320);
    await switchTo(page, `org_${t}_acme`);
    await addNote(page, `acme ${t}`);
    const m = await page.evaluate(() => {
      const box = (selector: string) => document.querySelector(selector)!.getBoundingClientRect();
      return {
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        picker: box("#org-picker").right,
        scope: box("[data-testid=notes-scope]").right,
      };
    });
    expect(m.innerWidth).toBe(320);
    expect(m.scrollWidth).toBeLessThanOrEqual(m.innerWidth);
    expect(m.picker).toBeLessThanOrEqual(m.innerWidth);
    expect(m.scope).toBeLessThanOrEqual(m.innerWidth);
    await page.screenshot({ path: screenshotPath("notes-org-02-phone-320"), fullPage: true });
  });
});
