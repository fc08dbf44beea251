/**
 * Refresh tokens: strict shape, MAC over deployment (issuer), family and generation,
 * several secrets (P4, P5), and the legacy issuer-free form still verifying.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { timingSafeEqual } from "../../functions/constant-time.ts";
import { createRefreshTokens, parseRefreshToken } from "../../functions/refresh-token.ts";
import { legacyRefreshToken } from "../support/legacy-refresh-token.ts";

const OLD = "o".repeat(32);
const NEW = "n".repeat(40);
const ISSUER = "https://prod.example.com/functions/v1/session";
const STAGING = "https://staging.example.com/functions/v1/session";

describe("refresh tokens", () => {
  it("round-trips family and generation", async () => {
    const tokens = await createRefreshTokens([NEW], ISSUER);
    const family = randomUUID();
    for (const generation of [0, 1, 41, Number.MAX_SAFE_INTEGER]) {
      const token = await tokens.mint(family, generation);
      expect(await tokens.verify(token)).toEqual({ family, generation });
    }
  });

  it("is deterministic, so a grace retry gets the identical string", async () => {
    const tokens = await createRefreshTokens([NEW], ISSUER);
    const family = randomUUID();
    expect(await tokens.mint(family, 7)).toBe(
      await (await createRefreshTokens([NEW, OLD], ISSUER)).mint(family, 7),
    );
  });

  it("keeps verifying tokens of an older secret and mints with the newest", async () => {
    const family = randomUUID();
    const before = await (await createRefreshTokens([OLD], ISSUER)).mint(family, 3);
    const rotated = await createRefreshTokens([NEW, OLD], ISSUER);
    expect(await rotated.verify(before)).toEqual({ family, generation: 3 });
    const after = await rotated.mint(family, 4);
    expect(after.split(".")[0]).not.toBe(before.split(".")[0]);
    expect(await (await createRefreshTokens([OLD], ISSUER)).verify(after)).toBeNull();
  });

  it("binds the deployment: a token minted for one issuer is refused by another with the same secret", async () => {
    const family = randomUUID();
    const production = await createRefreshTokens([NEW, OLD], ISSUER);
    const staging = await createRefreshTokens([NEW, OLD], STAGING);
    const token = await production.mint(family, 2);
    expect(await production.verify(token)).toEqual({ family, generation: 2 });
    expect(await staging.verify(token)).toBeNull();
    expect(await production.verify(await staging.mint(family, 2))).toBeNull();
    // An issuer differing only in a trailing character is another deployment too.
    expect(await (await createRefreshTokens([NEW], `${ISSUER}2`)).verify(token)).toBeNull();
  });

  it("still verifies a legacy (issuer-free) token under any listed secret; its successor is issuer-bound", async () => {
    const family = randomUUID();
    const rotated = await createRefreshTokens([NEW, OLD], ISSUER);
    for (const secret of [NEW, OLD]) {
      expect(await rotated.verify(legacyRefreshToken(secret, family, 3))).toEqual({ family, generation: 3 });
    }
    expect(await rotated.verify(legacyRefreshToken("x".repeat(32), family, 3))).toBeNull();
    const successor = await rotated.mint(family, 4);
    expect(successor.split(".")[0]).toHaveLength(12); // the version-2 key id
    expect(successor).not.toBe(legacyRefreshToken(NEW, family, 4));
    expect(await (await createRefreshTokens([NEW], STAGING)).verify(successor)).toBeNull();
  });

  it("does not let a MAC of one version pass as the other", async () => {
    const family = randomUUID();
    const tokens = await createRefreshTokens([NEW], ISSUER);
    const current = await tokens.mint(family, 1);
    const legacy = legacyRefreshToken(NEW, family, 1);
    const [newKid, , , newMac] = current.split(".");
    const [oldKid, , , oldMac] = legacy.split(".");
    expect(await tokens.verify(`${oldKid}.${family}.1.${newMac}`)).toBeNull();
    expect(await tokens.verify(`${newKid}.${family}.1.${oldMac}`)).toBeNull();
  });

  it("refuses a token of a secret it does not hold", async () => {
    const token = await (await createRefreshTokens([OLD], ISSUER)).mint(randomUUID(), 0);
    expect(await (await createRefreshTokens([NEW], ISSUER)).verify(token)).toBeNull();
  });

  it("refuses every change to a valid token", async () => {
    const tokens = await createRefreshTokens([NEW], ISSUER);
    const family = randomUUID();
    const token = await tokens.mint(family, 5);
    const [kid, , , mac] = token.split(".");
    const forged = [
      `${kid}.${family}.6.${mac}`, // next generation, same MAC
      `${kid}.${randomUUID()}.5.${mac}`, // other family
      `${kid}.${family.toUpperCase()}.5.${mac}`,
      `${kid}.${family}.05.${mac}`,
      `${kid}.${family}.5.${mac.slice(0, -1)}`,
      `${kid}.${family}.5.${mac}=`,
      `${kid}.${family}.5.${mac}.`,
      `${kid}.${family}.5`,
      token.slice(0, -1),
      `${token} `,
      ` ${token}`,
      "",
      "....",
      `${kid}.${family}.-1.${mac}`,
      `${kid}.${family}.99999999999999999.${mac}`,
    ];
    for (const candidate of forged) expect(await tokens.verify(candidate), candidate).toBeNull();
  });

  it("refuses a MAC with one bit flipped anywhere", async () => {
    const tokens = await createRefreshTokens([NEW], ISSUER);
    const token = await tokens.mint(randomUUID(), 1);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 42 }),
        fc.integer({ min: 1, max: 63 }),
        async (at, shift) => {
          const macStart = token.lastIndexOf(".") + 1;
          const chars = token.split("");
          chars[macStart + at] = alphabet[(alphabet.indexOf(chars[macStart + at]) + shift) % 64];
          expect(await tokens.verify(chars.join(""))).toBeNull();
        },
      ),
      { numRuns: 200 },
    );
  });

  it("never throws on arbitrary input", async () => {
    const tokens = await createRefreshTokens([NEW], ISSUER);
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (input) => {
        expect(await tokens.verify(input)).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it("parses only the canonical shape", () => {
    const family = randomUUID();
    const mac = "A".repeat(43);
    expect(parseRefreshToken(`abcdEFGH.${family}.0.${mac}`)).toEqual({
      kid: "abcdEFGH",
      family,
      generation: 0,
      mac,
    });
    expect(parseRefreshToken(`abcdEFGH-_12.${family}.0.${mac}`)).toMatchObject({ kid: "abcdEFGH-_12" });
    expect(parseRefreshToken(`abcdEFG.${family}.0.${mac}`)).toBeNull();
    expect(parseRefreshToken(`abcdEFGH12.${family}.0.${mac}`)).toBeNull();
    expect(parseRefreshToken(`abcdEFGH-_123.${family}.0.${mac}`)).toBeNull();
    expect(parseRefreshToken(`abcdEFGH.${family}.0.${mac}A`)).toBeNull();
    expect(parseRefreshToken(`abcdEFGH.${family}.1e3.${mac}`)).toBeNull();
    expect(parseRefreshToken(`abcdEFGH.${family}.0.${mac}`.padEnd(200, "A"))).toBeNull();
  });

  it("compares in constant time and correctly", () => {
    expect(timingSafeEqual("abc", "abc")).toBe(true);
    expect(timingSafeEqual("abc", "abd")).toBe(false);
    expect(timingSafeEqual("abc", "ab")).toBe(false);
    expect(timingSafeEqual("", "")).toBe(true);
  });

  it("needs a secret", async () => {
    await expect(createRefreshTokens([], ISSUER)).rejects.toThrow();
    await expect(createRefreshTokens([NEW], "")).rejects.toThrow();
  });
});
