/**
 * The browser's address through an app server (SESSION_FORWARDING_KEYS), against the
 * real session function and Postgres: a server whose key is listed records and counts
 * each user under the address it names; a server with another key, a browser with its
 * own device key, or a request without a proof cannot choose its address, however it
 * sets the header. The function reads the connecting address from a header the test
 * sets as an edge would (SESSION_CLIENT_IP=header:x-edge-client).
 */
import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSessionGuard,
  generateServerKeyJwk,
  type SessionGuard,
} from "../../../packages/server/src/index.ts";
import { clerkId } from "../../../scripts/lib/clerk-issuer.ts";
import { deviceKey, proof } from "../../support/dpop.ts";
import { APP_ORIGIN, type Stack, startStack } from "../../support/stack.ts";

/** An address no other test file uses (budgets by address live in the shared database). */
const address = () => `10.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(1, 255)}`;

let stack: Stack;
let trusted: SessionGuard; // its key is listed
let other: SessionGuard; // bound to a key of its own, not listed
/** The app server's own address, as the edge in front of the function reports it. */
const SERVER_ADDRESS = address();

/** A fetch that arrives from `SERVER_ADDRESS`, as Cloudflare would report the app server. */
const fromServer: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set("x-edge-client", SERVER_ADDRESS);
  return fetch(input, { ...init, headers });
};

beforeAll(async () => {
  const [trustedKey, otherKey] = await Promise.all([generateServerKeyJwk(), generateServerKeyJwk()]);
  const probe = await createSessionGuard({ sessionUrl: "http://localhost/", serverKey: trustedKey });
  stack = await startStack({
    SESSION_CLIENT_IP: "header:x-edge-client",
    SESSION_FORWARDING_KEYS: probe.boundKey!,
    // One start per user a minute, so ten per address (IP_BUDGET_FACTOR).
    SESSION_RATE_LIMITS: "start=1/60,refresh=120/60",
  });
  [trusted, other] = await Promise.all([
    createSessionGuard({ sessionUrl: stack.server.url, serverKey: trustedKey, fetch: fromServer, refreshMargin: 1e9 }),
    createSessionGuard({ sessionUrl: stack.server.url, serverKey: otherKey, fetch: fromServer, refreshMargin: 1e9 }),
  ]);
}, 90_000);
afterAll(async () => {
  await stack?.stop();
});

/** A browser's request to the app, from `from` as the app's own proxy reports it. */
function browserRequest(from: string, cookie?: string): Request {
  const headers = new Headers({ "user-agent": "Mozilla/5.0 (address test)", "x-forwarded-for": `${from}, 10.0.0.1` });
  if (cookie) headers.set("cookie", cookie);
  return new Request(`${APP_ORIGIN}/`, { headers });
}

async function signIn(guard: SessionGuard, from: string, user = clerkId("user")) {
  const token = await stack.clerk.token({ sub: user, azp: APP_ORIGIN });
  const state = await guard.start(browserRequest(from), token, { deviceName: "address test" });
  return { user, state, cookie: state.setCookies[0]?.split("; ")[0] };
}

async function recorded(user: string): Promise<{ family: string | null; events: string[] }> {
  const [family] = await stack.sql`select host(ip) as ip from sessionguard.families where user_id = ${user}`;
  const events = await stack.sql`select host(ip) as ip from sessionguard.events where user_id = ${user} order by id`;
  return { family: (family?.ip as string | null) ?? null, events: events.map((e) => e.ip as string) };
}

describe("a listed server key", () => {
  it("records the browser's address at /start and moves it at /refresh", async () => {
    const browser = address();
    const { user, cookie } = await signIn(trusted, browser);
    expect(await recorded(user)).toEqual({ family: browser, events: [browser] });

    const moved = address();
    const refreshed = await trusted.refreshIfDue(browserRequest(moved, cookie), { force: true });
    expect(refreshed.session?.userId).toBe(user);
    expect((await recorded(user)).family).toBe(moved);
  });

  it("counts each browser's address apart: eleven users behind one server all start", async () => {
    // Under the server's own address, the eleventh start in a minute would be refused.
    const states = await Promise.all(Array.from({ length: 11 }, () => signIn(trusted, address())));
    expect(states.map((s) => s.state.session === null)).toEqual(Array(11).fill(false));
  });

  it("falls back to the connecting address when the browser's is not a valid one", async () => {
    const { user } = await signIn(trusted, "not-an-address");
    expect((await recorded(user)).family).toBe(SERVER_ADDRESS);
  });
});

describe("anyone else cannot choose the address", () => {
  it("a server with an unlisted key is recorded under its own address", async () => {
    const { user } = await signIn(other, address());
    expect(await recorded(user)).toEqual({ family: SERVER_ADDRESS, events: [SERVER_ADDRESS] });
  });

  it("a browser's own device key, or no proof at all, leaves the header ignored", async () => {
    const edge = address();
    const key = await deviceKey();
    const url = `${stack.server.url}/start`;
    for (const dpop of [await proof(key, "POST", url), undefined]) {
      const user = clerkId("user");
      const response = await stack.call("/start", {
        token: await stack.clerk.token({ sub: user, azp: APP_ORIGIN }),
        json: {},
        headers: { "x-edge-client": edge, "sessionguard-client-ip": "192.0.2.1", ...(dpop ? { dpop } : {}) },
      });
      expect(response.status).toBe(200);
      expect(await recorded(user)).toEqual({ family: edge, events: [edge] });
    }
  });

  it("an unlisted server naming a new address each time still spends its own address's budget", async () => {
    const server = address();
    const rotating: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set("x-edge-client", server);
      headers.set("sessionguard-client-ip", address());
      return fetch(input, { ...init, headers });
    };
    const guard = await createSessionGuard({
      sessionUrl: stack.server.url,
      serverKey: await generateServerKeyJwk(),
      fetch: rotating,
    });
    const results = await Promise.all(
      Array.from({ length: 11 }, () => signIn(guard, address()).then(() => "started", (err: Error) => err.message)),
    );
    expect(results.filter((r) => r === "started")).toHaveLength(10);
    expect(results.filter((r) => r !== "started")).toEqual([expect.stringMatching(/rate|429|too many/i)]);
  });
});
