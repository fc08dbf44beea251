/** The real entrypoint refuses to start on a bad or missing setting, naming it. */
import { describe, expect, it } from "vitest";
import { failingStart } from "../../scripts/lib/session-server.ts";
import { refreshSecret, signingJwk } from "../../scripts/lib/throwaway-keys.ts";

describe("start-up", () => {
  it.each<[string, Record<string, string | undefined>]>([
    ["SESSION_REFRESH_SECRET", { SESSION_REFRESH_SECRET: undefined }],
    ["SESSION_REFRESH_SECRET", { SESSION_REFRESH_SECRET: "too-short-secret" }],
    ["SESSION_SIGNING_JWK", {
      SESSION_SIGNING_JWK: JSON.stringify({ kty: "EC", crv: "P-256", x: "AA", y: "AA", d: "AA", kid: "k" }),
    }],
    ["CLERK_JWT_KEY", { CLERK_JWT_KEY: "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----" }],
    ["SESSION_REUSE_GRACE", { SESSION_REUSE_GRACE: "90" }],
    // Values the SQL rate limiter refuses: they used to start and then answer 400 to every request.
    ["SESSION_RATE_LIMITS", { SESSION_RATE_LIMITS: "refresh=200000/60" }],
    ["SESSION_RATE_LIMITS", { SESSION_RATE_LIMITS: "start=20/100000" }],
    ["DATABASE_URL", { DATABASE_URL: undefined }],
  ])("stops naming %s", async (setting, override) => {
    const settings = {
      CLERK_ISSUER: "https://example.clerk.accounts.dev",
      SESSION_ISSUER: "http://localhost:54321/functions/v1/session",
      SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
      SESSION_REFRESH_SECRET: refreshSecret(),
      DATABASE_URL: "postgresql://postgres:postgres@127.0.0.1:1/postgres",
      ...override,
    };
    const { code, stderr } = await failingStart(settings);
    expect(code).toBe(1);
    expect(stderr).toContain(`session: cannot start: ${setting}`);
    if (override.SESSION_REFRESH_SECRET) expect(stderr).not.toContain(override.SESSION_REFRESH_SECRET);
  });
});
