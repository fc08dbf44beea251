/** The error envelope and the reading of untrusted request facts, without a server. */
import { describe, expect, it } from "vitest";
import { ApiError, ERROR_CODES, errorResponse, toApiError } from "../../functions/errors.ts";
import { clientIp, MAX_USER_AGENT_LENGTH, normalizeIp, requestIp, userAgent } from "../../functions/request.ts";
import { parseClientIp } from "../../functions/config/limits.ts";
import { SPEC_STATUS } from "../support/spec.ts";

describe("errors", () => {
  it("maps every code to the status docs/contract.md gives it", async () => {
    const statuses = Object.fromEntries(ERROR_CODES.map((code) => [code, new ApiError(code).status]));
    expect(statuses).toEqual(SPEC_STATUS);
  });

  it("puts a challenge on every 401 and keeps the detail out of the body", async () => {
    const response = errorResponse(
      new ApiError("session_revoked", { detail: "family 123 revoked at 10:00" }),
    );
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      'Bearer realm="sessionguard", error="session_revoked"',
    );
    const text = await response.text();
    expect(Object.keys(JSON.parse(text))).toEqual(["error", "error_description"]);
    expect(text).not.toContain("family 123");
  });

  it("turns anything unexpected into server_error without internals", async () => {
    const error = toApiError(new TypeError("cannot read properties of undefined (reading 'secret')"));
    expect(error.code).toBe("server_error");
    const response = errorResponse(error);
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain("secret");
    const unavailable = errorResponse(new ApiError("server_error", { status: 503 }));
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get("retry-after")).toBeTruthy();
  });
});

describe("request facts", () => {
  const request = (headers: Record<string, string>) => new Request("http://localhost/", { headers });
  const first = { kind: "forwarded", pick: "first" } as const;

  it("by default reads only cf-connecting-ip: a forged X-Forwarded-For names nobody", () => {
    const byDefault = parseClientIp(undefined);
    const forged = request({ "x-forwarded-for": "198.51.100.66", "cf-connecting-ip": "203.0.113.5" });
    expect(clientIp(forged, byDefault)).toBe("203.0.113.5");
    expect(clientIp(request({ "x-forwarded-for": "198.51.100.66" }), byDefault)).toBeNull();
  });

  it("forwarded-first takes the first valid forwarded address, else cf-connecting-ip", () => {
    expect(clientIp(request({ "x-forwarded-for": "203.0.113.5, 10.0.0.1" }), first)).toBe("203.0.113.5");
    expect(clientIp(request({ "x-forwarded-for": "2001:DB8::0:1" }), first)).toBe("2001:db8::1");
    expect(clientIp(request({ "cf-connecting-ip": "198.51.100.2" }), first)).toBe("198.51.100.2");
    expect(clientIp(request({}), first)).toBeNull();
  });

  it("reads the address the nearest proxy appended, or one trusted header, when told to", () => {
    const last = { kind: "forwarded", pick: "last" } as const;
    const forged = request({
      "x-forwarded-for": "198.51.100.66, 203.0.113.5",
      "cf-connecting-ip": "198.51.100.1",
    });
    expect(clientIp(forged, last)).toBe("203.0.113.5");
    expect(clientIp(request({ "x-forwarded-for": "203.0.113.5, unknown" }), last)).toBe("203.0.113.5");
    expect(clientIp(request({ "cf-connecting-ip": "198.51.100.1" }), last)).toBeNull();
    const header = { kind: "header", name: "cf-connecting-ip" } as const;
    expect(clientIp(forged, header)).toBe("198.51.100.1");
    expect(clientIp(request({ "x-forwarded-for": "203.0.113.5" }), header)).toBeNull();
    expect(clientIp(request({ "cf-connecting-ip": "203.0.113.5, 198.51.100.1" }), header)).toBeNull();
  });

  it("refuses anything that is not an IP address", () => {
    for (
      const value of [
        "256.1.1.1",
        "1.2.3",
        "01.2.3.4",
        "1",
        "localhost",
        "1.2.3.4/8",
        "::1%eth0",
        "' or 1=1",
        "[::1]",
        ":::",
      ]
    ) {
      expect(normalizeIp(value), value).toBeNull();
    }
    expect(clientIp(request({ "x-forwarded-for": "unknown, 203.0.113.5" }), first)).toBe("203.0.113.5");
    expect(clientIp(request({ "x-forwarded-for": "unknown", "cf-connecting-ip": "bad" }), first)).toBeNull();
  });

  it("cleans and cuts the user agent", () => {
    expect(userAgent(request({ "user-agent": "A\tB" }))).toBe("AB");
    expect(userAgent(request({ "user-agent": "x".repeat(5000) }))).toHaveLength(MAX_USER_AGENT_LENGTH);
    expect(userAgent(request({}))).toBeNull();
  });
});

describe("the address an app server names (SESSION_FORWARDING_KEYS)", () => {
  const listed = "L".repeat(43);
  const settings = { clientIp: parseClientIp(undefined), forwardingKeys: new Set([listed]) };
  const request = (named: string) =>
    new Request("http://localhost/", { headers: { "cf-connecting-ip": "198.51.100.1", "sessionguard-client-ip": named } });

  it("is used only with a proof from a listed key, and only when it is an address", () => {
    expect(requestIp(request("203.0.113.9"), settings, { jkt: listed })).toBe("203.0.113.9");
    expect(requestIp(request("2001:DB8::1"), settings, { jkt: listed })).toBe("2001:db8::1");
    expect(requestIp(request("203.0.113.9"), settings, { jkt: "U".repeat(43) })).toBe("198.51.100.1");
    expect(requestIp(request("203.0.113.9"), settings, null)).toBe("198.51.100.1");
    expect(requestIp(request("203.0.113.9, 10.0.0.1"), settings, { jkt: listed })).toBe("198.51.100.1");
    expect(requestIp(request("localhost"), settings, { jkt: listed })).toBe("198.51.100.1");
  });
});
