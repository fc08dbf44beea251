/**
 * The refresh-token MAC, checked against independent implementations of the
 * formula functions/refresh-token.ts documents (version 2): WebCrypto's
 * HMAC-SHA-256 (what minted tokens before the MAC moved to @noble/hashes) and
 * node:crypto's. Tokens minted before that change must keep verifying, and
 * the once-keyed HMAC state must not carry anything from one MAC to the next.
 */
import { createHmac, randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRefreshTokens } from "../../functions/refresh-token.ts";

const SECRET = "s".repeat(43);
const ISSUER = "https://prod.example.com/functions/v1/session";
const encoder = new TextEncoder();

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

/** kid and MAC of version 2 with WebCrypto, straight from the module's documentation. */
async function webCryptoToken(secret: string, issuer: string, family: string, generation: number) {
  const kidInput = encoder.encode(`sessionguard refresh key id v2\0${issuer}\0${secret}`);
  const kid = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", kidInput))).slice(0, 12);
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const input = encoder.encode(`sessionguard refresh v2\0${issuer}\0${family}.${generation}`);
  const mac = b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, input)));
  return `${kid}.${family}.${generation}.${mac}`;
}

describe("refresh-token MAC", () => {
  it("is HMAC-SHA-256 as WebCrypto and node:crypto compute it, for any family and generation", async () => {
    const tokens = await createRefreshTokens([SECRET], ISSUER);
    await fc.assert(
      fc.asyncProperty(
        fc.uuid({ version: 4 }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        async (family, generation) => {
          const minted = await tokens.mint(family, generation);
          expect(minted).toBe(await webCryptoToken(SECRET, ISSUER, family, generation));
          const mac = createHmac("sha256", SECRET)
            .update(`sessionguard refresh v2\0${ISSUER}\0${family}.${generation}`)
            .digest("base64url");
          expect(minted.split(".")[3]).toBe(mac);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("verifies tokens minted by the WebCrypto implementation", async () => {
    const tokens = await createRefreshTokens([SECRET], ISSUER);
    const family = randomUUID();
    const earlier = await webCryptoToken(SECRET, ISSUER, family, 12);
    expect(await tokens.verify(earlier)).toEqual({ family, generation: 12 });
    // The same token under another secret or issuer is not this deployment's.
    expect(await (await createRefreshTokens(["t".repeat(43)], ISSUER)).verify(earlier)).toBeNull();
    expect(await (await createRefreshTokens([SECRET], `${ISSUER}x`)).verify(earlier)).toBeNull();
  });

  it("keeps no state between MACs: interleaved and concurrent mints equal fresh ones", async () => {
    const shared = await createRefreshTokens([SECRET], ISSUER);
    const families = Array.from({ length: 50 }, () => randomUUID());
    const concurrent = await Promise.all(families.map((family, i) => shared.mint(family, i)));
    for (const [i, family] of families.entries()) {
      const fresh = await (await createRefreshTokens([SECRET], ISSUER)).mint(family, i);
      expect(concurrent[i]).toBe(fresh);
      // A verify between mints changes nothing either.
      expect(await shared.verify(concurrent[i])).toEqual({ family, generation: i });
      expect(await shared.mint(family, i)).toBe(fresh);
    }
  });

  it("refuses a token whose MAC is off by one character, and changes nothing for the next", async () => {
    const tokens = await createRefreshTokens([SECRET], ISSUER);
    const family = randomUUID();
    const good = await tokens.mint(family, 5);
    const last = good.at(-1) === "A" ? "B" : "A";
    expect(await tokens.verify(good.slice(0, -1) + last)).toBeNull();
    expect(await tokens.verify(good)).toEqual({ family, generation: 5 });
  });
});
