/** Refresh tokens: strict shape, MAC over family and generation, several secrets (P4, P5). */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRefreshTokens, parseRefreshToken, timingSafeEqual } from "../functions/refresh-token.ts";

const OLD = "o".repeat(32);
const NEW = "n".repeat(40);

describe("refresh tokens", () => {
  it("round-trips family and generation", async () => {
    const tokens = await createRefreshTokens([NEW]);
    const family = randomUUID();
    for (const generation of [0, 1, 41, Number.MAX_SAFE_INTEGER]) {
      const token = await tokens.mint(family, generation);
      expect(await tokens.verify(token)).toEqual({ family, generation });
    }
  });

  it("is deterministic, so a grace retry gets the identical string", async () => {
    const tokens = await createRefreshTokens([NEW]);
    const family = randomUUID();
    expect(await tokens.mint(family, 7)).toBe(await (await createRefreshTokens([NEW, OLD])).mint(family, 7));
  });

  it("keeps verifying tokens of an older secret and mints with the newest", async () => {
    const family = randomUUID();
    const before = await (await createRefreshTokens([OLD])).mint(family, 3);
    const rotated = await createRefreshTokens([NEW, OLD]);
    expect(await rotated.verify(before)).toEqual({ family, generation: 3 });
    const after = await rotated.mint(family, 4);
    expect(after.split(".")[0]).not.toBe(before.split(".")[0]);
    expect(await (await createRefreshTokens([OLD])).verify(after)).toBeNull();
  });

  it("refuses a token of a secret it does not hold", async () => {
    const token = await (await createRefreshTokens([OLD])).mint(randomUUID(), 0);
    expect(await (await createRefreshTokens([NEW])).verify(token)).toBeNull();
  });

  it("refuses every change to a valid token", async () => {
    const tokens = await createRefreshTokens([NEW]);
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
    const tokens = await createRefreshTokens([NEW]);
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
    const tokens = await createRefreshTokens([NEW]);
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
    expect(parseRefreshToken(`abcdEFG.${family}.0.${mac}`)).toBeNull();
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
    await expect(createRefreshTokens([])).rejects.toThrow();
  });
});
