/**
 * functions/cors.ts answers with exactly the headers, status and body that
 * hono's `cors()` gave with the options the session function used before it
 * (functions/handler.ts until 2026-11-30): two apps built alike, one with each
 * middleware, asked the same requests — preflights, answers, errors thrown by
 * a route, not-found, from an allowed, a foreign and no origin, with an
 * allowlist and with "*".
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { describe, expect, it } from "vitest";
import { corsMiddleware } from "../../functions/cors.ts";
import { answerErrors, ApiError } from "../../functions/errors.ts";

const APP = "http://localhost:3000";

function build(allowedOrigins: readonly string[] | "*", withHono: boolean, inner: boolean): Hono {
  const app = new Hono();
  app.use(
    "*",
    withHono
      ? cors({
        origin: (origin) => (allowedOrigins === "*" || allowedOrigins.includes(origin) ? origin : null),
        allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
        allowHeaders: ["authorization", "content-type", "dpop", "apikey", "x-client-info"],
        exposeHeaders: ["www-authenticate", "dpop-nonce", "retry-after", "date"],
        maxAge: 600,
      })
      : corsMiddleware(allowedOrigins as readonly string[] & "*"),
  );
  // A second middleware, as the DPoP nonce one (hono composes the chain differently then).
  if (inner) app.use("*", async (_c, next) => await next());
  const api = new Hono();
  api.post("/ok", (c) => c.json({ ok: true }, 200, { "cache-control": "no-store", pragma: "no-cache" }));
  api.get("/vary", (c) => c.text("text", 200, { vary: "Accept-Encoding" }));
  api.post("/refused", () => {
    throw new ApiError("rate_limited", { headers: { "retry-after": "7" } });
  });
  api.delete("/crash", () => {
    throw new Error("boom");
  });
  app.route("/functions/v1/session", api);
  answerErrors(app, () => {});
  return app;
}

async function answer(app: Hono, request: Request) {
  const response = await app.fetch(request);
  return {
    status: response.status,
    headers: [...response.headers].filter(([name]) => name !== "content-length"),
    body: await response.text(),
  };
}

async function compare(ours: Hono, hono: Hono, origin: string | undefined) {
  for (const [method, path, extra] of REQUESTS) {
    const request = () =>
      new Request(`http://localhost${path}`, {
        method,
        headers: { ...extra, ...(origin ? { origin } : {}) },
        body: method === "POST" ? "{}" : undefined,
      });
    const [got, want] = [await answer(ours, request()), await answer(hono, request())];
    expect(got, `${method} ${path}`).toEqual(want);
  }
}

const REQUESTS: [string, string, Record<string, string>][] = [
  ["OPTIONS", "/functions/v1/session/ok", { "access-control-request-method": "POST" }],
  ["OPTIONS", "/anywhere", { "access-control-request-headers": "content-type, dpop" }],
  ["POST", "/functions/v1/session/ok", { "content-type": "application/json" }],
  ["GET", "/functions/v1/session/vary", {}],
  ["POST", "/functions/v1/session/refused", {}],
  ["DELETE", "/functions/v1/session/crash", {}],
  ["GET", "/functions/v1/session/missing", {}],
  ["PUT", "/functions/v1/session/ok", {}],
];

describe("CORS middleware", () => {
  for (const allowed of [[APP], "*"] as const) {
    for (const origin of [APP, "https://evil.example", undefined]) {
      it(`answers as hono's cors() did (allowlist ${JSON.stringify(allowed)}, origin ${origin ?? "none"})`, async () => {
        for (const inner of [false, true]) {
          await compare(build(allowed, false, inner), build(allowed, true, inner), origin);
        }
      });
    }
  }

  it("allows only listed origins, on errors too", async () => {
    const app = build([APP], false, true);
    const refused = await app.fetch(
      new Request("http://localhost/functions/v1/session/refused", {
        method: "POST",
        headers: { origin: APP },
      }),
    );
    expect(refused.status).toBe(429);
    expect(refused.headers.get("access-control-allow-origin")).toBe(APP);
    expect(refused.headers.get("access-control-expose-headers")).toContain("retry-after");
    const foreign = await app.fetch(
      new Request("http://localhost/functions/v1/session/ok", {
        method: "POST",
        headers: { origin: "https://evil.example" },
        body: "{}",
      }),
    );
    expect(foreign.status).toBe(200);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
  });
});
