/**
 * @sessionguard/server's CSRF check on state-changing requests: Fetch Metadata first,
 * then Origin, then the double-submit token; each attack is tried and must be refused.
 */
import { describe, expect, it } from "vitest";
import { createSessionGuard } from "../../packages/server/src/index.ts";

const guard = await createSessionGuard({ sessionUrl: "http://127.0.0.1:1/functions/v1/session" });
const post = (headers: Record<string, string>, url = "http://127.0.0.1:3000/api/signout") =>
  new Request(url, { method: "POST", headers });
const refused = (request: Request, token?: string) => {
  try {
    guard.assertSameOrigin(request, token);
    return null;
  } catch (err) {
    return (err as { code: string; status: number });
  }
};

describe("CSRF", () => {
  it("lets safe methods through untouched", () => {
    expect(refused(new Request("http://127.0.0.1:3000/", { headers: { "sec-fetch-site": "cross-site" } }))).toBeNull();
  });

  it("Sec-Fetch-Site: only same-origin passes; cross-site, same-site (another port or subdomain) and none are refused", () => {
    expect(refused(post({ "sec-fetch-site": "same-origin", origin: "http://127.0.0.1:3000" }))).toBeNull();
    for (const site of ["cross-site", "same-site", "none"]) {
      expect(refused(post({ "sec-fetch-site": site, origin: "http://127.0.0.1:3000" }))).toMatchObject({
        code: "csrf_rejected",
        status: 403,
      });
    }
  });

  it("Origin, when Fetch Metadata is absent: own origin or an allowed one; another, or null, is refused", () => {
    expect(refused(post({ origin: "http://127.0.0.1:3000" }))).toBeNull();
    expect(refused(post({ origin: "http://127.0.0.1:4000" }))?.code).toBe("csrf_rejected");
    expect(refused(post({ origin: "null" }))?.code).toBe("csrf_rejected");
  });

  it("neither header: the double-submit token must match the cookie", () => {
    const first = guard.csrfToken(new Request("http://127.0.0.1:3000/"));
    expect(first.setCookie).toMatch(/^sessionguard-csrf=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    const cookie = `sessionguard-csrf=${first.token}`;
    // The browser has the cookie now: the same token is used, no new cookie.
    expect(guard.csrfToken(new Request("http://127.0.0.1:3000/", { headers: { cookie } }))).toEqual({
      token: first.token,
      setCookie: null,
    });
    expect(refused(post({ cookie }), first.token)).toBeNull();
    expect(refused(post({ cookie, "x-csrf-token": first.token }))).toBeNull();
    expect(refused(post({ cookie }))?.code).toBe("csrf_rejected"); // no token
    expect(refused(post({ cookie }), first.token.replace(/^./, (c) => (c === "A" ? "B" : "A")))?.code).toBe("csrf_rejected");
    expect(refused(post({}), first.token)?.code).toBe("csrf_rejected"); // no cookie: a token alone proves nothing
  });
});
