/**
 * The ES256 signer (functions/signer.ts): both implementations produce JWS that
 * WebCrypto and jose verify against the published key, in the encoding RFC 7518
 * §3.4 prescribes (raw 64-byte r || s); noble's nonces are deterministic (RFC
 * 6979) and its s is low; keys are imported once, at start-up; a private key
 * that does not match its public half is refused. In Deno, `auto` means noble.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { base64url, decodeProtectedHeader, importJWK, jwtVerify, SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createAccessTokens } from "../../functions/access-token.ts";
import { parseConfig } from "../../functions/config.ts";
import { createEs256Signer, resolveSigner } from "../../functions/signer.ts";
import { refreshSecret, signingJwk as anyJwk } from "../../scripts/lib/throwaway-keys.ts";

/** A fresh ES256 private JWK (x, y, d, kid). */
const signingJwk = async (kid?: string) =>
  await anyJwk(kid) as { kty: string; crv: string; x: string; y: string; d: string; kid: string };

const root = path.resolve(import.meta.dirname, "..", "..");
const DENO = path.join(root, "node_modules", ".bin", "deno");
const ORDER = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const header = { alg: "ES256", kid: "k1", typ: "JWT" };
const payload = { iss: "https://issuer.test", sub: "user_1", sid: "s", iat: 1, exp: 2 };

async function publicKey(jwk: Record<string, string>): Promise<CryptoKey> {
  return await crypto.subtle.importKey(
    "jwk",
    { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
}

afterEach(() => vi.restoreAllMocks());

describe.each(["noble", "webcrypto"] as const)("ES256 signer: %s", (choice) => {
  it("signs JWS that WebCrypto and jose verify, as raw 64-byte r || s", async () => {
    const jwk = await signingJwk("k1");
    const signer = await createEs256Signer(jwk, choice);
    expect(signer.implementation).toBe(choice);
    const token = await signer.sign(header, payload);
    const [h, p, s] = token.split(".");
    const signature = new Uint8Array(base64url.decode(s));
    expect(signature.length).toBe(64);
    const ok = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      await publicKey(jwk),
      signature,
      new TextEncoder().encode(`${h}.${p}`),
    );
    expect(ok).toBe(true);
    const verified = await jwtVerify(token, await importJWK({ ...jwk, d: undefined }, "ES256"), {
      algorithms: ["ES256"],
      currentDate: new Date(1_000),
    });
    expect(verified.payload).toEqual(payload);
    expect(decodeProtectedHeader(token)).toEqual(header);
    // The signing input is byte for byte what jose's SignJWT produces for the same header and claims.
    const joseToken = await new SignJWT({ ...payload }).setProtectedHeader(header).sign(
      await importJWK(jwk, "ES256"),
    );
    expect(`${h}.${p}`).toBe(joseToken.split(".").slice(0, 2).join("."));
  });

  it("refuses a signature under another key and a tampered payload", async () => {
    const jwk = await signingJwk("k1");
    const other = await signingJwk("k2");
    const token = await (await createEs256Signer(jwk, choice)).sign(header, payload);
    await expect(jwtVerify(token, await importJWK({ ...other, d: undefined }, "ES256"))).rejects.toThrow();
    const [h, , s] = token.split(".");
    const forged = `${h}.${base64url.encode(JSON.stringify({ ...payload, sub: "user_2" }))}.${s}`;
    await expect(jwtVerify(forged, await importJWK({ ...jwk, d: undefined }, "ES256"))).rejects.toThrow();
  });
});

describe("noble signer", () => {
  it("uses deterministic nonces (RFC 6979) and low-S signatures", async () => {
    const jwk = await signingJwk();
    const signer = await createEs256Signer(jwk, "noble");
    const first = await signer.sign(header, payload);
    expect(await signer.sign(header, payload)).toBe(first);
    expect(await signer.sign(header, { ...payload, exp: 3 })).not.toBe(first);
    for (let i = 0; i < 20; i++) {
      const signature = base64url.decode((await signer.sign(header, { ...payload, iat: i })).split(".")[2]);
      const s = BigInt(`0x${Buffer.from(signature.slice(32)).toString("hex")}`);
      expect(s > 0n && s <= ORDER / 2n).toBe(true);
    }
  });

  it("refuses a private key that does not belong to its x and y, and malformed coordinates", async () => {
    const jwk = await signingJwk();
    const other = await signingJwk();
    await expect(createEs256Signer({ ...jwk, d: other.d }, "noble")).rejects.toThrow(/does not match/);
    await expect(createEs256Signer({ ...jwk, d: base64url.encode(new Uint8Array(33).fill(1)) }, "noble"))
      .rejects.toThrow(/at most 32 bytes/);
    await expect(createEs256Signer({ ...jwk, d: "" }, "noble")).rejects.toThrow(/at most 32 bytes/);
    await expect(createEs256Signer({ ...jwk, d: base64url.encode(new Uint8Array(32)) }, "noble"))
      .rejects.toThrow(/valid P-256 scalar/);
  });
});

describe("access tokens through the signer", () => {
  const env = (signer: string) => ({
    CLERK_ISSUER: "https://example.clerk.accounts.dev",
    SESSION_ISSUER: "https://ref.supabase.co/functions/v1/session",
    SESSION_REFRESH_SECRET: refreshSecret(),
    DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/postgres",
    SESSION_SIGNER: signer,
  });

  it.each(["noble", "webcrypto", "auto"])(
    "SESSION_SIGNER=%s: reads and imports the private key once, at start-up",
    async (choice) => {
      const jwk = await signingJwk("key-1");
      const config = parseConfig({ ...env(choice), SESSION_SIGNING_JWK: JSON.stringify(jwk) });
      // The same key, with a counter on every read of the private scalar.
      let reads = 0;
      const counted = { ...config.signingJwks[0] };
      Object.defineProperty(counted, "d", { enumerable: true, get: () => (reads++, jwk.d) });
      const importKey = vi.spyOn(crypto.subtle, "importKey");
      const tokens = await createAccessTokens({ ...config, signingJwks: [counted] });
      const readsAtStart = reads;
      expect(readsAtStart).toBeGreaterThan(0);
      const verifyKey = await importJWK(tokens.jwks.keys[0], "ES256");
      importKey.mockClear();
      const now = new Date();
      const signed = [];
      for (let i = 0; i < 5; i++) {
        signed.push(await tokens.sign({ userId: `user_${i}`, sessionId: crypto.randomUUID(), now }));
      }
      expect(reads).toBe(readsAtStart);
      expect(importKey).not.toHaveBeenCalled();
      for (const [i, { token }] of signed.entries()) {
        expect((await jwtVerify(token, verifyKey)).payload.sub).toBe(`user_${i}`);
        expect((await tokens.verify(token, now)).sub).toBe(`user_${i}`);
      }
    },
  );

  it("resolves auto to WebCrypto in Node and to noble in Deno", async () => {
    expect(resolveSigner("auto")).toBe("webcrypto");
    expect(resolveSigner("noble")).toBe("noble");
    const { stdout } = await promisify(execFile)(DENO, [
      "eval",
      `import { resolveSigner } from "./functions/signer.ts"; console.log(resolveSigner("auto"));`,
    ], { cwd: root, env: { ...process.env, NO_COLOR: "1" } });
    expect(stdout.trim()).toBe("noble");
  });
});
