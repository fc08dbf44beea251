/**
 * HS256 access tokens carry no `kid` unless SESSION_JWT_KID names the key id Supabase
 * shows for the legacy secret (SPEC, "Access token claims"): PostgREST 13+ refuses a
 * token whose `kid` matches none of its keys, and the legacy secret has none.
 */
import { randomUUID } from "node:crypto";
import { decodeProtectedHeader, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createAccessTokens } from "../../functions/access-token.ts";
import { ConfigError, parseConfig } from "../../functions/config.ts";

const SECRET = "legacy-project-jwt-secret-of-32-bytes-or-more";
const base = {
  CLERK_ISSUER: "https://example.clerk.accounts.dev",
  SUPABASE_URL: "https://ref.supabase.co",
  SESSION_JWT_SECRET: SECRET,
  SESSION_REFRESH_SECRET: "r".repeat(32),
  SUPABASE_DB_URL: "postgresql://postgres:pw@db.ref.supabase.co:5432/postgres",
};
const now = new Date("2026-11-30T12:00:00Z");
const input = { userId: "user_1", sessionId: randomUUID(), now };

function settingNamed(env: Record<string, string | undefined>): string | null {
  try {
    parseConfig(env);
    return null;
  } catch (error) {
    if (error instanceof ConfigError) return error.setting;
    throw error;
  }
}

describe("SESSION_JWT_KID", () => {
  it("HS256 tokens have no kid by default, and verify", async () => {
    const tokens = await createAccessTokens(parseConfig(base));
    const { token } = await tokens.sign(input);
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    expect((await tokens.verify(token, now)).sid).toBe(input.sessionId);
  });

  it("HS256 tokens carry SESSION_JWT_KID when it is set; tokens from before it still verify", async () => {
    const before = await (await createAccessTokens(parseConfig(base))).sign(input);
    const tokens = await createAccessTokens(parseConfig({ ...base, SESSION_JWT_KID: "5b3e0c1d-legacy" }));
    const { token } = await tokens.sign(input);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", kid: "5b3e0c1d-legacy", typ: "JWT" });
    expect((await tokens.verify(token, now)).sub).toBe("user_1");
    expect((await tokens.verify(before.token, now)).sub).toBe("user_1");
  });

  it("refuses an HS256 token under a kid it does not know", async () => {
    const tokens = await createAccessTokens(parseConfig({ ...base, SESSION_JWT_KID: "legacy" }));
    const { claims } = await tokens.sign(input);
    const foreign = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: "HS256", kid: "other", typ: "JWT" })
      .sign(new TextEncoder().encode(SECRET));
    await expect(tokens.verify(foreign, now)).rejects.toMatchObject({ code: "invalid_token" });
  });

  it("ES256 tokens keep their JWKS kid", async () => {
    const { generateKeyPair, exportJWK } = await import("jose");
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: "es-1" };
    const tokens = await createAccessTokens(
      parseConfig({ ...base, SESSION_JWT_SECRET: undefined, SESSION_SIGNING_JWK: JSON.stringify(jwk) }),
    );
    expect(decodeProtectedHeader((await tokens.sign(input)).token).kid).toBe("es-1");
  });

  it.each([
    [{ SESSION_JWT_KID: "has space" }],
    [{ SESSION_JWT_KID: "x".repeat(65) }],
    [{ SESSION_JWT_SECRET: undefined, SESSION_SIGNING_JWK: undefined, SESSION_JWT_KID: "k" }],
  ])("is named when bad (%j)", (override) => {
    expect(settingNamed({ ...base, ...override })).toBe("SESSION_JWT_KID");
  });
});
