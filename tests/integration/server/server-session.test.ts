/**
 * @sessionguard/server against the real session function (Deno, real Postgres): the
 * cookie it writes, one refresh per session in a process under a burst, separate
 * processes racing one cookie (the function's grace window for unbound families, P3;
 * the server key's binding for bound ones, P14), a replayed cookie caught as theft,
 * sign-out, device list, revoke and events server-side.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessionGuard, generateServerKeyJwk, type SessionGuard } from "../../../packages/server/src/index.ts";
import { clerkId } from "../../../scripts/lib/clerk-issuer.ts";
import { APP_ORIGIN, type Stack, startStack } from "../../support/stack.ts";

let graceStack: Stack; // SESSION_REUSE_GRACE=10 (the default)
let strictStack: Stack; // SESSION_REUSE_GRACE=0: any repeat of an unbound token is theft

beforeAll(async () => {
  [graceStack, strictStack] = await Promise.all([
    startStack({ SESSION_REUSE_GRACE: "10" }),
    startStack({ SESSION_REUSE_GRACE: "0" }),
  ]);
}, 90_000);
afterAll(async () => {
  await Promise.all([graceStack?.stop(), strictStack?.stop()]);
});

const APP = "http://localhost:3000";
/** A browser request to the app carrying `cookies` (name=value pairs). */
function browserRequest(cookies: string[], init: RequestInit & { url?: string } = {}): Request {
  const headers = new Headers(init.headers);
  if (cookies.length) headers.set("cookie", cookies.join("; "));
  headers.set("user-agent", "Mozilla/5.0 (test browser)");
  return new Request(init.url ?? `${APP}/`, { ...init, headers });
}
/** The `name=value` of a Set-Cookie, and its attributes. */
function cookiePair(setCookie: string): { pair: string; name: string; value: string; attributes: string[] } {
  const [pair, ...attributes] = setCookie.split("; ");
  const at = pair!.indexOf("=");
  return { pair: pair!, name: pair!.slice(0, at), value: pair!.slice(at + 1), attributes };
}
async function signIn(stack: Stack, guard: SessionGuard, user = clerkId("user")) {
  const token = await stack.clerk.token({ sub: user, azp: APP_ORIGIN });
  const state = await guard.start(browserRequest([]), token, { deviceName: "server test" });
  return { user, state, cookie: cookiePair(state.setCookies[0]!).pair };
}
async function reuseEvents(stack: Stack, user: string): Promise<number> {
  const [row] = await stack.sql`select count(*)::int as n from sessionguard.events
    where user_id = ${user} and type = 'refresh_token_reused'`;
  return row!.n as number;
}

describe("the session cookie", () => {
  it("is HttpOnly, SameSite=Lax, Path=/, and __Host- + Secure over https; unprefixed on loopback http only", async () => {
    const guard = await createSessionGuard({ sessionUrl: graceStack.server.url });
    const token = await graceStack.clerk.token({ sub: clerkId("user"), azp: APP_ORIGIN });
    const https = await guard.start(browserRequest([], { url: "https://app.example/" }), token);
    const secure = cookiePair(https.setCookies[0]!);
    expect(secure.name).toBe("__Host-sessionguard");
    expect(secure.attributes).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "SameSite=Lax", "Secure"]));
    expect(secure.attributes.some((a) => a.startsWith("Domain"))).toBe(false);
    // The value holds the refresh token, so it must never reach a non-loopback http origin.
    expect(() => guard.read(browserRequest([], { url: "http://app.example/" }))).toThrow(/Secure/);
    const local = guard.clear(browserRequest([], { url: "http://127.0.0.1:3000/" }));
    expect(cookiePair(local[0]!).name).toBe("sessionguard");
    expect(local[0]).not.toContain("Secure");
    // A value this package did not write is no session (and is not sent anywhere).
    expect(guard.read(browserRequest(["sessionguard=not-a-session"]))).toBeNull();
  });
});

describe("one process", () => {
  it("twenty parallel requests with one due cookie send one refresh and all get its successor", async () => {
    const guard = await createSessionGuard({ sessionUrl: strictStack.server.url, refreshMargin: 1e9 });
    const { user, cookie } = await signIn(strictStack, guard);
    const states = await Promise.all(Array.from({ length: 20 }, () => guard.refreshIfDue(browserRequest([cookie]))));
    expect(guard.refreshesSent).toBe(1);
    // The same cookie value for all (Max-Age may differ by the second it was written in).
    const values = new Set(states.map((s) => cookiePair(s.setCookies[0]!).pair));
    expect(values.size).toBe(1);
    expect(states.every((s) => s.session?.userId === user && s.reason === null)).toBe(true);
    // A straggler still carrying the spent cookie a moment later gets the same successor, no call.
    const late = await guard.refreshIfDue(browserRequest([cookie]));
    expect(cookiePair(late.setCookies[0]!).pair).toBe(cookiePair(states[0]!.setCookies[0]!).pair);
    expect(guard.refreshesSent).toBe(1);
    expect(await reuseEvents(strictStack, user)).toBe(0);
  });
});

describe("separate processes sharing one cookie", () => {
  it("unbound: twenty guards racing one refresh token all succeed within the grace window (P3), no theft", async () => {
    const first = await createSessionGuard({ sessionUrl: graceStack.server.url, refreshMargin: 1e9 });
    const { user, cookie } = await signIn(graceStack, first);
    const guards = await Promise.all(
      Array.from({ length: 20 }, () => createSessionGuard({ sessionUrl: graceStack.server.url, refreshMargin: 1e9 })),
    );
    const states = await Promise.all(guards.map((g) => g.refreshIfDue(browserRequest([cookie]))));
    expect(guards.reduce((n, g) => n + g.refreshesSent, 0)).toBe(20); // really twenty calls
    expect(states.map((s) => s.reason)).toEqual(Array(20).fill(null));
    expect(new Set(states.map((s) => s.session!.refreshToken)).size).toBe(1); // one successor (P3)
    expect(await reuseEvents(graceStack, user)).toBe(0);
  });

  it("without a grace window (SESSION_REUSE_GRACE=0) the same race is taken for theft: why P3 matters here", async () => {
    const first = await createSessionGuard({ sessionUrl: strictStack.server.url, refreshMargin: 1e9 });
    const { user, cookie } = await signIn(strictStack, first);
    const guards = await Promise.all(
      Array.from({ length: 20 }, () => createSessionGuard({ sessionUrl: strictStack.server.url, refreshMargin: 1e9 })),
    );
    const states = await Promise.all(guards.map((g) => g.refreshIfDue(browserRequest([cookie]))));
    expect(states.filter((s) => s.reason === null)).toHaveLength(1);
    expect(await reuseEvents(strictStack, user)).toBe(1);
  });

  it("bound to the server key, the race passes even with a grace of 0: the previous token with the key's proof gets the unused successor (P14)", async () => {
    const serverKey = await generateServerKeyJwk();
    const make = () => createSessionGuard({ sessionUrl: strictStack.server.url, serverKey, refreshMargin: 1e9 });
    const { user, cookie } = await signIn(strictStack, await make());
    const guards = await Promise.all(Array.from({ length: 20 }, make));
    const states = await Promise.all(guards.map((g) => g.refreshIfDue(browserRequest([cookie]))));
    expect(states.map((s) => s.reason)).toEqual(Array(20).fill(null));
    expect(new Set(states.map((s) => s.session!.refreshToken)).size).toBe(1);
    expect(await reuseEvents(strictStack, user)).toBe(0);
  });

  it("bound to the server key: the same race passes (P3), and a copy of the cookie without the key is refused", async () => {
    const serverKey = await generateServerKeyJwk();
    const make = () => createSessionGuard({ sessionUrl: graceStack.server.url, serverKey, refreshMargin: 1e9 });
    const first = await make();
    const { user, state, cookie } = await signIn(graceStack, first);
    expect(state.session!.tokenType).toBe("DPoP");
    const guards = await Promise.all(Array.from({ length: 20 }, make));
    const states = await Promise.all(guards.map((g) => g.refreshIfDue(browserRequest([cookie]))));
    expect(states.map((s) => s.reason)).toEqual(Array(20).fill(null));
    expect(new Set(states.map((s) => s.session!.refreshToken)).size).toBe(1);
    expect(await reuseEvents(graceStack, user)).toBe(0);
    // The device list works with the bound access token (a proof with its hash).
    const devices = await guards[0]!.devices(states[0]!.session!);
    expect(devices.filter((d) => d.current)).toHaveLength(1);

    // The cookie's refresh token on its own, without the server's key: refused, nothing revoked.
    const thief = await createSessionGuard({ sessionUrl: graceStack.server.url, refreshMargin: 1e9 });
    const stolen = cookiePair(states[0]!.setCookies[0]!).pair;
    const refused = await thief.refreshIfDue(browserRequest([stolen]));
    expect(refused.reason).toBe("invalid_dpop_proof");
    const owner = await guards[0]!.refreshIfDue(browserRequest([stolen]));
    expect(owner.reason).toBeNull();
  });
});

describe("theft and the account, server-side", () => {
  it("a replayed cookie value two rotations old is reuse: the family is revoked and the reason is set", async () => {
    const guard = await createSessionGuard({ sessionUrl: strictStack.server.url, refreshMargin: 1e9 }); // the default retention: it must not forgive an old copy
    const { user, cookie } = await signIn(strictStack, guard);
    const second = cookiePair((await guard.refreshIfDue(browserRequest([cookie]))).setCookies[0]!).pair;
    const third = cookiePair((await guard.refreshIfDue(browserRequest([second]))).setCookies[0]!).pair;
    const replay = await guard.refreshIfDue(browserRequest([cookie]));
    expect(replay.session).toBeNull();
    expect(replay.reason).toBe("refresh_token_reused");
    expect(replay.setCookies.map((c) => cookiePair(c).pair)).toEqual(["sessionguard=", "sessionguard-reason=refresh_token_reused"]);
    expect(guard.reason(browserRequest(["sessionguard-reason=refresh_token_reused"]))).toBe("refresh_token_reused");
    // The honest browser's newest cookie is dead too: the whole family was revoked.
    expect((await guard.refreshIfDue(browserRequest([third]))).reason).toBe("session_revoked");
    expect(await reuseEvents(strictStack, user)).toBe(1);
  });

  it("lists devices and events, revokes another device, and signs out", async () => {
    const guard = await createSessionGuard({ sessionUrl: graceStack.server.url });
    const user = clerkId("user");
    const laptop = await signIn(graceStack, guard, user);
    const phone = await signIn(graceStack, guard, user);
    const devices = await guard.devices(laptop.state.session!);
    expect(devices.map((d) => d.id).sort()).toEqual([laptop.state.session!.sessionId, phone.state.session!.sessionId].sort());
    expect(devices.find((d) => d.current)!.id).toBe(laptop.state.session!.sessionId);
    expect(devices.every((d) => d.user_agent === "Mozilla/5.0 (test browser)")).toBe(true);
    await guard.revoke(laptop.state.session!, phone.state.session!.sessionId);
    await expect(guard.devices(phone.state.session!)).rejects.toMatchObject({ code: "session_revoked" });
    const events = await guard.events(laptop.state.session!);
    expect(events.map((e) => e.type)).toContain("session_revoked");

    const out = await guard.signOut(browserRequest([laptop.cookie], { method: "POST" }));
    expect(out.session).toBeNull();
    expect(cookiePair(out.setCookies[0]!).attributes).toContain("Max-Age=0");
    await expect(guard.devices(laptop.state.session!)).rejects.toMatchObject({ code: "session_revoked" });
  });
});
