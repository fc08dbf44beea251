/**
 * Each entrypoint run exactly as deployed (./support/deployed.ts: its own deno.json,
 * settings from the environment only), plainly and inside an emulation of Supabase's
 * Edge Runtime, driven under both path shapes: `/functions/v1/<name>/...` (the public
 * URL) and `/<name>/...` (what the Edge Runtime hands the function).
 *
 * In the Edge Runtime `Deno.exit` does nothing, so a bad setting must not crash the
 * function: every request answers 500 `server_error`, and the log names the setting
 * once (SPEC, "Configuration").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseUrl } from "../../support/context.ts";
import { call } from "../../support/api.ts";
import { type ClerkIssuer, startClerkIssuer } from "../../../scripts/lib/clerk-issuer.ts";
import { clerkEvent, newWebhookSecret, signDelivery } from "../../support/clerk-webhook-server.ts";
import { refreshSecret, signingJwk } from "../../../scripts/lib/throwaway-keys.ts";
import { type Deployed, runDeployed, runDeployedToExit } from "../../support/platform/deployed.ts";

const PREFIXES = {
  session: ["/functions/v1/session", "/session"],
  webhook: ["/functions/v1/clerk-webhook", "/clerk-webhook"],
};
let clerk: ClerkIssuer;
let sessionSettings: Record<string, string>;
const running: Deployed[] = [];

beforeAll(async () => {
  clerk = await startClerkIssuer("http://localhost:3000");
  sessionSettings = {
    CLERK_ISSUER: clerk.issuer,
    CLERK_AUTHORIZED_PARTIES: "http://localhost:3000",
    SESSION_ISSUER: "http://localhost:54321/functions/v1/session",
    SESSION_SIGNING_JWK: JSON.stringify(await signingJwk("deployed-key")),
    SESSION_REFRESH_SECRET: refreshSecret(),
    DATABASE_URL: testDatabaseUrl(),
  };
}, 60_000);

afterAll(async () => {
  for (const fn of running) await fn.stop();
  await clerk?.stop();
});

async function start(name: string, settings: Record<string, string | undefined>, edge: boolean) {
  const fn = await runDeployed(name, settings, { edge });
  running.push(fn);
  return fn;
}

/** /start then /refresh under `prefix`, with a fresh Clerk token. */
async function signInAndRefresh(origin: string, prefix: string): Promise<void> {
  const base = origin + prefix;
  const jwks = await call(base, "/.well-known/jwks.json");
  expect(jwks.status).toBe(200);
  expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toEqual(["deployed-key"]);
  const started = await call(base, "/start", { method: "POST", token: await clerk.token(), json: {} });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  const refreshed = await call(base, "/refresh", { json: { refresh_token: started.body.refresh_token } });
  expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
  const sessions = await call(base, "/sessions", { token: refreshed.body.access_token });
  expect(sessions.status).toBe(200);
}

describe.each([
  ["deno run", false],
  ["Edge Runtime", true],
])("session as deployed (%s)", (_, edge) => {
  it.each(PREFIXES.session)("serves the whole flow under %s", async (prefix) => {
    const fn = await start("session", sessionSettings, edge);
    await signInAndRefresh(fn.origin, prefix);
  }, 150_000);
});

describe("a bad setting in the Edge Runtime (Deno.exit does nothing)", () => {
  it.each([
    ["session", "SESSION_REUSE_GRACE", { SESSION_REUSE_GRACE: "90" }],
    ["session", "SESSION_REFRESH_SECRET", { SESSION_REFRESH_SECRET: undefined }],
    ["session", "SESSION_JWT_KID", { SESSION_JWT_KID: "kid without a secret" }],
    ["clerk-webhook", "CLERK_WEBHOOK_SECRET", { CLERK_WEBHOOK_SECRET: "not-a-whsec" }],
  ])("%s: every request answers 500 server_error, the log names %s once", async (name, setting, override) => {
    const settings = name === "session"
      ? { ...sessionSettings, ...override }
      : { DATABASE_URL: testDatabaseUrl(), ...override };
    const fn = await start(name, settings, true);
    const prefixes = name === "session" ? PREFIXES.session : PREFIXES.webhook;
    for (const prefix of prefixes) {
      for (const [path, method] of [["/.well-known/jwks.json", "GET"], ["/start", "POST"], ["", "POST"]]) {
        const answer = await call(fn.origin + prefix, path, {
          method,
          json: method === "POST" ? {} : undefined,
        });
        expect(answer.status, `${method} ${prefix}${path}`).toBe(500);
        expect(answer.body).toEqual({ error: "server_error", error_description: expect.any(String) });
      }
    }
    expect(fn.alive()).toBe(true);
    const log = fn.log();
    expect(log.split(setting).length - 1, log).toBe(1);
    expect(log).not.toMatch(/TypeError|Uncaught/);
    expect(log).not.toContain("not-a-whsec"); // a bad value itself is never logged
  }, 150_000);

  it("under deno run the same setting stops the process with exit code 1", async () => {
    const { code, log } = await runDeployedToExit("session", {
      ...sessionSettings,
      SESSION_REUSE_GRACE: "90",
    });
    expect(code).toBe(1);
    expect(log).toContain("session: cannot start: SESSION_REUSE_GRACE");
  }, 150_000);
});

describe.each([
  ["deno run", false],
  ["Edge Runtime", true],
])("clerk-webhook as deployed (%s)", (_, edge) => {
  it.each(PREFIXES.webhook)("accepts a signed delivery under %s and refuses a forged one", async (prefix) => {
    const secret = newWebhookSecret();
    const fn = await start(
      "clerk-webhook",
      { CLERK_WEBHOOK_SECRET: secret, DATABASE_URL: testDatabaseUrl() },
      edge,
    );
    const event = clerkEvent("session.ended", {
      id: `sess_deployed${Math.random().toString(36).slice(2, 10)}`,
      object: "session",
      status: "ended",
      user_id: "user_deployed",
      client_id: "client_x",
    });
    const signed = signDelivery(secret, event);
    const accepted = await call(fn.origin + prefix, "", { raw: signed.body, headers: signed.headers });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    const forged = signDelivery(newWebhookSecret(), event);
    const refused = await call(fn.origin + prefix, "", { raw: forged.body, headers: forged.headers });
    expect(refused.status).toBe(401);
  }, 150_000);
});
