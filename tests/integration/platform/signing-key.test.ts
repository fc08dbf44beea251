/**
 * The imported-key path (docs/deploy.md) starts with `supabase gen signing-key
 * --algorithm ES256`: the very JWK it prints is SESSION_SIGNING_JWK and is what the
 * project imports. Tokens must carry its `kid` (Supabase: "You must set the same value
 * when importing") and the JWKS must publish only its public half.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { createAccessTokens } from "../../../functions/access-token.ts";
import { parseConfig } from "../../../functions/config.ts";
import { root } from "../../support/npm-start.ts";

describe("a key from supabase gen signing-key", () => {
  it("is accepted as SESSION_SIGNING_JWK, signs under its kid and publishes only its public half", async () => {
    const printed = execFileSync(path.join(root, "node_modules", ".bin", "supabase"), [
      "gen",
      "signing-key",
      "--algorithm",
      "ES256",
    ], {
      cwd: os.tmpdir(), // it writes nothing, but never into the checkout
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
    });
    const jwk = JSON.parse(printed.split("\n").find((line) => line.startsWith("{"))!);
    expect(jwk).toMatchObject({
      kty: "EC",
      crv: "P-256",
      alg: "ES256",
      d: expect.any(String),
      kid: expect.any(String),
    });
    const config = parseConfig({
      CLERK_ISSUER: "https://example.clerk.accounts.dev",
      SUPABASE_URL: "https://ref.supabase.co",
      SESSION_SIGNING_JWK: JSON.stringify(jwk),
      SESSION_REFRESH_SECRET: "r".repeat(32),
      SUPABASE_DB_URL: "postgresql://postgres:pw@db.ref.supabase.co:5432/postgres",
    });
    const tokens = await createAccessTokens(config);
    const { token } = await tokens.sign({ userId: "user_1", sessionId: randomUUID(), now: new Date() });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "ES256", kid: jwk.kid, typ: "JWT" });
    expect(tokens.jwks.keys).toHaveLength(1);
    expect(tokens.jwks.keys[0]).toEqual({
      kty: "EC",
      crv: "P-256",
      x: jwk.x,
      y: jwk.y,
      kid: jwk.kid,
      alg: "ES256",
      use: "sig",
    });
  });
});
