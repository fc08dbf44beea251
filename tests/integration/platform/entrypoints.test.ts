/**
 * Each entrypoint run exactly as deployed (./support/deployed.ts: its own deno.json and
 * deno.lock, settings from the environment only), plainly and inside an emulation of
 * Supabase's Edge Runtime, driven under both path shapes: `/functions/v1/<name>/...`
 * (the public URL) and `/<name>/...` (what the Edge Runtime hands the function).
 *
 * All of it twice: under our Deno and under the Deno the Edge Runtime ships
 * (../../support/platform/edge-deno.ts names the version), which also type-checks both
 * entrypoints against their own deno.json and reads their lockfiles.
 *
 * In the Edge Runtime `Deno.exit` does nothing, so a bad setting must not crash the
 * function: every request answers 500 `server_error`, and the log names the setting
 * once (SPEC, "Configuration"). A malformed DATABASE_URL never puts its password in
 * the log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseUrl } from "../../support/context.ts";
import { call } from "../../support/api.ts";
import { type ClerkIssuer, startClerkIssuer } from "../../../scripts/lib/clerk-issuer.ts";
import { clerkEvent, newWebhookSecret, signDelivery } from "../../support/clerk-webhook-server.ts";
import { refreshSecret, signingJwk } from "../../../scripts/lib/throwaway-keys.ts";
import { type Deployed, runDeployed, runDeployedToExit } from "../../support/platform/deployed.ts";
import { edgeDeno, edgeDenoVersion, OUR_DENO } from "../../support/platform/edge-deno.ts";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const PREFIXES = {
  session: ["/functions/v1/session", "/session"],
  webhook: ["/functions/v1/clerk-webhook", "/clerk-webhook"],
};
let clerk: ClerkIssuer;
let sessionSettings: Record<string, string>;
const running: Deployed[] = [];
const DENOS = [
  { label: "our Deno", binary: () => OUR_DENO },
  { label: `Deno ${edgeDenoVersion()} (the Edge Runtime's)`, binary: edgeDeno },
];
const binaries = new Map<string, string>();

beforeAll(async () => {
  for (const { label, binary } of DENOS) binaries.set(label, binary());
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

async function start(
  deno: string,
  name: string,
  settings: Record<string, string | undefined>,
  edge: boolean,
) {
  const fn = await runDeployed(name, settings, { edge, deno: binaries.get(deno)! });
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

describe.each(DENOS.map(({ label }) => label))("under %s", (deno) => {
  describe.each([
    ["deno run", false],
    ["Edge Runtime", true],
  ])("session as deployed (%s)", (_, edge) => {
    it.each(PREFIXES.session)("serves the whole flow under %s", async (prefix) => {
      const fn = await start(deno, "session", sessionSettings, edge);
      await signInAndRefresh(fn.origin, prefix);
    }, 150_000);
  });

  describe("a bad setting in the Edge Runtime (Deno.exit does nothing)", () => {
    it.each([
      ["session", "SESSION_REUSE_GRACE", { SESSION_REUSE_GRACE: "90" }],
      ["session", "SESSION_REFRESH_SECRET", { SESSION_REFRESH_SECRET: undefined }],
      ["session", "SESSION_JWT_KID", { SESSION_JWT_KID: "kid without a secret" }],
      ["clerk-webhook", "CLERK_WEBHOOK_SECRET", { CLERK_WEBHOOK_SECRET: "not-a-whsec" }],
    ])(
      "%s: every request answers 500 server_error, the log names %s once",
      async (name, setting, override) => {
        const settings = name === "session"
          ? { ...sessionSettings, ...override }
          : { DATABASE_URL: testDatabaseUrl(), ...override };
        const fn = await start(deno, name, settings, true);
        const prefixes = name === "session" ? PREFIXES.session : PREFIXES.webhook;
        for (const prefix of prefixes) {
          for (
            const [path, method] of [["/.well-known/jwks.json", "GET"], ["/start", "POST"], ["", "POST"]]
          ) {
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
      },
      150_000,
    );

    it("under deno run the same setting stops the process with exit code 1", async () => {
      const { code, log } = await runDeployedToExit("session", {
        ...sessionSettings,
        SESSION_REUSE_GRACE: "90",
      }, { deno: binaries.get(deno)! });
      expect(code).toBe(1);
      expect(log).toContain("session: cannot start: SESSION_REUSE_GRACE");
    }, 150_000);
  });

  describe.each([
    ["deno run", false],
    ["Edge Runtime", true],
  ])("clerk-webhook as deployed (%s)", (_, edge) => {
    it.each(PREFIXES.webhook)(
      "accepts a signed delivery under %s and refuses a forged one",
      async (prefix) => {
        const secret = newWebhookSecret();
        const fn = await start(
          deno,
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
      },
      150_000,
    );
  });

  it.each(["session", "clerk-webhook"])(
    "%s type-checks against its own deno.json and deno.lock",
    async (name) => {
      const { stdout, stderr } = await promisify(execFile)(binaries.get(deno)!, [
        "check",
        "--frozen",
        "index.ts",
      ], {
        cwd: path.join(import.meta.dirname, "..", "..", "..", "supabase", "functions", name),
        env: { ...process.env, NO_COLOR: "1", RUST_BACKTRACE: "0" },
      });
      expect(`${stdout}${stderr}`).not.toMatch(/error/i);
    },
    150_000,
  );

  describe("a malformed DATABASE_URL never puts its password in the log", () => {
    const PASSWORD = "Pw0-never-logged";
    // Each is refused by URL parsing; Deno's own message would be "Invalid URL: '<url>'".
    const urls = [
      `postgres://app:${PASSWORD}@db.example.com:port/postgres`,
      `postgresql://app:${PASSWORD}/x@db.example.com:5432/postgres`,
      `postgres://app:${PASSWORD}@[db.example.com/postgres`,
      `postgres://app:${PASSWORD}@db.example.com:99999/postgres`,
    ];
    it.each(urls)("%s", async (url) => {
      for (const name of ["session", "clerk-webhook"]) {
        const settings = name === "session"
          ? { ...sessionSettings, DATABASE_URL: url }
          : { DATABASE_URL: url, CLERK_WEBHOOK_SECRET: newWebhookSecret() };
        const fn = await start(deno, name, settings, true);
        const prefix = name === "session" ? PREFIXES.session[0] : PREFIXES.webhook[0];
        const answer = await call(fn.origin + prefix, name === "session" ? "/start" : "", {
          method: "POST",
          json: {},
        });
        expect(answer.status).toBe(500);
        expect(JSON.stringify(answer.body)).not.toContain(PASSWORD);
        const log = fn.log();
        expect(log, `${name}: the setting is named`).toContain("DATABASE_URL");
        expect(log, `${name}: log`).not.toContain(PASSWORD);
        expect(log).not.toContain(PASSWORD.slice(0, 8));
        await fn.stop();
      }
    }, 150_000);
  });
});
