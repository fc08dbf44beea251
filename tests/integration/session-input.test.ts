/**
 * P12: bad input on every route gets its documented 4xx code and changes
 * nothing in the database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../functions/errors.ts";
import { userState } from "../support/database-rows.ts";
import { type Stack, startStack, type TokenResponse } from "../support/stack.ts";

/** Strings no field accepts: control characters, lone surrogates, overlong. */
const HOSTILE = [
  "\u0000",
  "\ud800",
  "a\u001b[31mred",
  "x".repeat(101),
  "<script>alert(1)</script>\u0007",
];

describe("bad input", () => {
  let stack: Stack;
  let victim: TokenResponse;
  let before: string;

  beforeAll(async () => {
    stack = await startStack();
    victim = await stack.start();
    before = await userState(stack.sql, victim.user_id);
  });
  afterAll(async () => {
    // Everything below was refused: the victim's sessions and events are exactly as they were.
    expect(await userState(stack.sql, victim.user_id)).toBe(before);
    await stack?.stop();
  });

  async function expectError(
    response: Promise<{ status: number; body: { error: string }; headers: Headers }>,
    status: number,
    code: string,
  ) {
    const { status: actual, body, headers } = await response;
    expect({ status: actual, error: body?.error }).toEqual({ status, error: code });
    expect(ERROR_CODES).toContain(body.error);
    expect(typeof (body as { error_description?: unknown }).error_description).toBe("string");
    expect(headers.get("content-type")).toContain("application/json");
    if (status === 401) expect(headers.get("www-authenticate")).toContain(`error="${code}"`);
  }

  const raw = (path: string, body: string, contentType = "application/json", token?: string) =>
    stack.call(path, {
      method: "POST",
      raw: body,
      token,
      headers: { "content-type": contentType },
    });

  it("POST /refresh: malformed JSON, wrong types, missing fields", async () => {
    for (const body of ["{", "[]", "null", "42", '"token"', "{'refresh_token': 1}", "\xff\xfe"]) {
      await expectError(raw("/refresh", body), 400, "invalid_request");
    }
    for (const value of [null, 1, true, [], {}, ["a"]]) {
      await expectError(stack.call("/refresh", { json: { refresh_token: value } }), 400, "invalid_request");
    }
    await expectError(stack.call("/refresh", { json: {} }), 400, "invalid_request");
    await expectError(stack.call("/refresh", { method: "POST" }), 400, "invalid_request");
    for (const token of [...HOSTILE, "'; drop table sessionguard.families; --"]) {
      await expectError(stack.refresh(token), 401, "invalid_refresh_token");
    }
  });

  it("POST /refresh: wrong media type and oversize bodies", async () => {
    const body = JSON.stringify({ refresh_token: victim.refresh_token });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", ""]) {
      await expectError(raw("/refresh", body, type), 415, "unsupported_media_type");
    }
    const big = JSON.stringify({ refresh_token: victim.refresh_token, pad: "x".repeat(9 * 1024) });
    await expectError(raw("/refresh", big), 413, "payload_too_large");

    // Without a Content-Length (chunked), the limit holds while reading.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode(`${"x".repeat(1024)}`));
        controller.close();
      },
    });
    const chunked = await fetch(`${stack.server.url}/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunks,
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await chunked.json()).error).toBe("payload_too_large");
  });

  it("POST /start: bad bodies with a valid Clerk token start nothing", async () => {
    const token = await stack.clerk.token({ sub: victim.user_id });
    await expectError(raw("/start", "{", "application/json", token), 400, "invalid_request");
    await expectError(raw("/start", "[1]", "application/json", token), 400, "invalid_request");
    await expectError(
      raw("/start", '{"device_name":"x"}', "text/plain", token),
      415,
      "unsupported_media_type",
    );
    await expectError(
      raw("/start", JSON.stringify({ device_name: "x".repeat(9000) }), "application/json", token),
      413,
      "payload_too_large",
    );
    for (const deviceName of [42, true, ["phone"], { name: "phone" }, ...HOSTILE]) {
      await expectError(
        stack.call("/start", { json: { device_name: deviceName }, token }),
        400,
        "invalid_request",
      );
    }
    await expectError(stack.call("/start", { json: { device_name: "phone" } }), 401, "invalid_token");
  });

  it("POST /start: printable hostile names are data, stored verbatim", async () => {
    for (
      const name of ["'; drop table sessionguard.families; --", "<script>alert(1)</script>", "Ünïcødé 📱"]
    ) {
      const started = await stack.call("/start", {
        json: { device_name: name },
        token: await stack.clerk.token(),
      });
      expect(started.status).toBe(200);
      const listed = await stack.call("/sessions", { token: started.body.access_token });
      expect(listed.body.sessions[0].device_name).toBe(name);
    }
  });

  it("POST /signout: bad scope, bad body, no token", async () => {
    for (const scope of ["everything", "", 1, null, ["global"], "GLOBAL"]) {
      await expectError(
        stack.call("/signout", { json: { scope }, token: victim.access_token }),
        400,
        "invalid_request",
      );
    }
    await expectError(raw("/signout", "{", "application/json", victim.access_token), 400, "invalid_request");
    await expectError(
      raw("/signout", "{}", "text/plain", victim.access_token),
      415,
      "unsupported_media_type",
    );
    await expectError(stack.call("/signout", { json: {} }), 401, "invalid_token");
    await expectError(stack.call("/signout", { json: {}, token: "x.y.z" }), 401, "invalid_token");
  });

  it("GET /sessions, GET /events, DELETE /sessions/<id>: hostile ids and missing tokens", async () => {
    await expectError(stack.call("/sessions"), 401, "invalid_token");
    await expectError(stack.call("/events"), 401, "invalid_token");
    await expectError(stack.call("/events", { token: victim.refresh_token }), 401, "invalid_token");
    for (const id of ["1%20or%201=1", "'--", "%00", "x".repeat(300), `${victim.session.id}x`]) {
      await expectError(
        stack.call(`/sessions/${id}`, { method: "DELETE", token: victim.access_token }),
        404,
        "not_found",
      );
    }
    await expectError(
      stack.call(`/sessions/${victim.session.id}`, { method: "DELETE" }),
      401,
      "invalid_token",
    );
  });

  it("unknown routes and methods", async () => {
    for (
      const path of ["/", "/nope", "/start/", "/sessions/a/b", "/.well-known/other", "/../../etc/passwd"]
    ) {
      await expectError(stack.call(path), 404, "not_found");
    }
    await expectError(stack.call("/start", { method: "GET" }), 405, "method_not_allowed");
    await expectError(stack.call("/refresh", { method: "PUT", json: {} }), 405, "method_not_allowed");
    await expectError(stack.call("/sessions", { method: "POST", json: {} }), 405, "method_not_allowed");
    await expectError(stack.call(`/sessions/${victim.session.id}`), 405, "method_not_allowed");
    await expectError(stack.call("/.well-known/jwks.json", { method: "DELETE" }), 405, "method_not_allowed");
    const response = await stack.call("/start", { method: "PATCH" });
    expect(response.headers.get("allow")).toBe("POST");
    const outside = await fetch(`${stack.server.origin}/functions/v1/other/start`, { method: "POST" });
    expect(outside.status).toBe(404);
  });

  it("still works for the victim afterwards", async () => {
    const sessions = await stack.call("/sessions", { token: victim.access_token });
    expect(sessions.status).toBe(200);
    expect(sessions.body.sessions.map((s: { id: string }) => s.id)).toEqual([victim.session.id]);
  });
});
