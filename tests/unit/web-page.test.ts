/**
 * The devices page's server (web/server.ts) over real HTTP: every answer forbids framing
 * (CSP `frame-ancestors 'none'` and `X-Frame-Options: DENY`), so "Sign out <device>" and "Sign out
 * everywhere else" cannot be clickjacked, and the endpoint the page uses comes from the
 * server's configuration. The same handler is what `npm start`'s gateway mounts;
 * tests/browser/devices.test.ts checks the page through it and in Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebServer, type WebServer } from "../../web/server.ts";

const SESSION_URL = "http://127.0.0.1:1/functions/v1/session";
const DEV_TOKEN_URL = "http://127.0.0.1:1/dev/clerk-token";
let local: WebServer;
let clerk: WebServer;

beforeAll(async () => {
  [local, clerk] = await Promise.all([
    startWebServer({
      sessionUrl: SESSION_URL,
      basePath: "/devices",
      devTokenUrl: DEV_TOKEN_URL,
    }),
    startWebServer({
      sessionUrl: SESSION_URL,
      clerk: { publishableKey: "pk_test_x", frontendApi: "https://example.clerk.accounts.dev" },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([local?.stop(), clerk?.stop()]);
});

/** Every path the page's server answers, with what it answers. */
const PATHS: [string, number][] = [
  ["/devices", 308],
  ["/devices/", 200],
  ["/devices/index.html", 200],
  ["/devices/devices.js", 200],
  ["/devices/devices.css", 200],
  ["/devices/clerk-token.js", 200],
  ["/devices/config.json", 200],
  ["/devices/sdk/index.js", 200],
];

function expectUnframeable(response: Response, what: string): void {
  expect(response.headers.get("x-frame-options"), what).toBe("DENY");
  const directives = (response.headers.get("content-security-policy") ?? "").split(";").map((d) => d.trim());
  expect(directives, what).toContain("frame-ancestors 'none'");
}

describe("devices page server", () => {
  it.each(PATHS)("forbids framing on %s", async (pathname, status) => {
    const origin = new URL(local.url).origin;
    for (const method of ["GET", "HEAD"]) {
      const response = await fetch(origin + pathname, { method, redirect: "manual" });
      expect(response.status, `${method} ${pathname}`).toBe(status);
      expectUnframeable(response, `${method} ${pathname}`);
    }
  });

  it("forbids framing in Clerk mode too, where the page itself may frame Clerk", async () => {
    const response = await fetch(clerk.url);
    expect(response.status).toBe(200);
    expectUnframeable(response, "clerk mode");
    expect(response.headers.get("content-security-policy")).toContain(
      "frame-src https://example.clerk.accounts.dev",
    );
  });

  it("tells the page the configured endpoint, whatever the request's query says", async () => {
    const url = new URL(`${local.url}/config.json`);
    url.searchParams.set("session_url", "https://attacker.example/functions/v1/session");
    const config = await (await fetch(url)).json();
    expect(config.sessionUrl).toBe(SESSION_URL);
  });

  it("points the page at the development issuer's tokens but mints none itself", async () => {
    const config = await (await fetch(`${local.url}/config.json`)).json();
    expect(config.devTokenUrl).toBe(DEV_TOKEN_URL);
    // Tokens come from the issuer (dev/dev-issuer.ts, mounted by the gateway), never from the page's server.
    expect((await fetch(`${new URL(local.url).origin}/dev/clerk-token`)).status).toBe(404);
  });
});
