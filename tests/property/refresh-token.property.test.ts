/**
 * Properties of refresh tokens (functions/refresh-token.ts), P4 and P3:
 * anything that was not minted with one of the server's secrets is refused —
 * random strings, strings in the token's exact shape, one-character edits of
 * real tokens, tokens of other secrets — and every minted token verifies back
 * to its family and generation, deterministically. Tokens are bound to their
 * deployment (issuer): another issuer with the same secrets refuses them, while
 * legacy issuer-free tokens (tests/support/legacy-refresh-token.ts) still verify.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createRefreshTokens,
  MAX_REFRESH_TOKEN_LENGTH,
  parseRefreshToken,
} from "../../functions/refresh-token.ts";
import { legacyRefreshToken } from "../support/legacy-refresh-token.ts";

const SECRET = randomBytes(32).toString("base64url");
const OTHER = randomBytes(32).toString("base64url");
const ISSUER = "https://ref.supabase.co/functions/v1/session";
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A canonical family id: a lowercase UUID. */
const family = fc.uuid().map((id) => id.toLowerCase());
const generation = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat());
const b64url = (length: number) =>
  fc.string({ unit: fc.constantFrom(...B64URL), minLength: length, maxLength: length });

/** Strings in exactly the token's shape, with parts nobody minted. */
const wellShaped = fc.tuple(fc.oneof(b64url(8), b64url(12)), family, generation, b64url(43)).map((
  [kid, id, gen, mac],
) => `${kid}.${id}.${gen}.${mac}`);

/** An edit of a string: a character replaced, inserted or removed, anywhere. */
const edit = fc.record({
  kind: fc.constantFrom("replace", "insert", "delete"),
  at: fc.nat(),
  char: fc.oneof(
    fc.constantFrom(...B64URL, ".", "=", " ", "\u0000"),
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  ),
});
function applyEdit(token: string, { kind, at, char }: { kind: string; at: number; char: string }): string {
  const i = at % (token.length + (kind === "insert" ? 1 : 0));
  if (kind === "insert") return token.slice(0, i) + char + token.slice(i);
  if (kind === "delete") return token.slice(0, i) + token.slice(i + 1);
  return token.slice(0, i) + char + token.slice(i + 1);
}

describe("refresh tokens: properties", () => {
  it("minted tokens round-trip to their family and generation, with any of the configured secrets", async () => {
    const alone = await createRefreshTokens([SECRET], ISSUER);
    const rotated = await createRefreshTokens([OTHER, SECRET], ISSUER);
    await fc.assert(
      fc.asyncProperty(family, generation, async (id, gen) => {
        const token = await alone.mint(id, gen);
        expect(token.length).toBeLessThanOrEqual(MAX_REFRESH_TOKEN_LENGTH);
        expect(await alone.verify(token)).toEqual({ family: id, generation: gen });
        // After a secret rotation the older secret still verifies what it minted.
        expect(await rotated.verify(token)).toEqual({ family: id, generation: gen });
        expect(parseRefreshToken(token)).toMatchObject({ family: id, generation: gen });
        // Deterministic: a grace retry re-derives the identical string.
        expect(await alone.mint(id, gen)).toBe(token);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses arbitrary strings", async () => {
    const tokens = await createRefreshTokens([SECRET], ISSUER);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.string({ unit: "binary", maxLength: 200 }),
          fc.string({ unit: fc.constantFrom(...B64URL, "."), maxLength: 140 }),
        ),
        async (input) => {
          expect(await tokens.verify(input)).toBeNull();
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("refuses well-shaped tokens that were not minted, even naming a real family", async () => {
    const tokens = await createRefreshTokens([SECRET], ISSUER);
    await fc.assert(
      fc.asyncProperty(wellShaped, async (forged) => {
        expect(await tokens.verify(forged)).toBeNull();
      }),
      { numRuns: 1000 },
    );
    // The real key id, a real family, any generation, a MAC nobody computed.
    const real = await tokens.mint("0b6c2b1e-5a4f-4c7e-9d2a-1f3b5c7d9e0f", 3);
    const [kid, id] = real.split(".");
    await fc.assert(
      fc.asyncProperty(generation, b64url(43), async (gen, mac) => {
        fc.pre(`${kid}.${id}.${gen}.${mac}` !== real);
        expect(await tokens.verify(`${kid}.${id}.${gen}.${mac}`)).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it("refuses every one-character edit of a minted token", async () => {
    const tokens = await createRefreshTokens([SECRET], ISSUER);
    await fc.assert(
      fc.asyncProperty(family, generation, edit, async (id, gen, change) => {
        const token = await tokens.mint(id, gen);
        const edited = applyEdit(token, change);
        fc.pre(edited !== token);
        expect(await tokens.verify(edited)).toBeNull();
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses tokens minted with a secret it does not hold", async () => {
    const ours = await createRefreshTokens([SECRET], ISSUER);
    await fc.assert(
      fc.asyncProperty(
        family,
        generation,
        fc.string({ unit: "binary", minLength: 32, maxLength: 64 }),
        async (id, gen, secret) => {
          fc.pre(secret !== SECRET);
          const theirs = await createRefreshTokens([secret], ISSUER);
          expect(await ours.verify(await theirs.mint(id, gen))).toBeNull();
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a token minted for one deployment never verifies at another holding the same secrets", async () => {
    const issuer = fc.tuple(
      fc.constantFrom("https://", "http://localhost:"),
      fc.string({ unit: fc.constantFrom(..."abcxyz019.-/"), minLength: 1, maxLength: 30 }),
    ).map(([scheme, rest]) => `${scheme}${rest}`);
    await fc.assert(
      fc.asyncProperty(issuer, issuer, family, generation, async (a, b, id, gen) => {
        fc.pre(a !== b);
        const here = await createRefreshTokens([OTHER, SECRET], a);
        const there = await createRefreshTokens([OTHER, SECRET], b);
        const token = await here.mint(id, gen);
        expect(await here.verify(token)).toEqual({ family: id, generation: gen });
        expect(await there.verify(token)).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  it("legacy tokens of any listed secret verify, and nothing minted now is in the legacy form", async () => {
    const tokens = await createRefreshTokens([OTHER, SECRET], ISSUER);
    await fc.assert(
      fc.asyncProperty(family, generation, fc.constantFrom(OTHER, SECRET), async (id, gen, secret) => {
        const legacy = legacyRefreshToken(secret, id, gen);
        expect(await tokens.verify(legacy)).toEqual({ family: id, generation: gen });
        const minted = await tokens.mint(id, gen);
        expect(minted).not.toBe(legacy);
        expect(parseRefreshToken(minted)?.kid).toHaveLength(12);
      }),
      { numRuns: 300 },
    );
  });

  it("mints only for canonical family ids and generations", async () => {
    const tokens = await createRefreshTokens([SECRET], ISSUER);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          family.map((id) => id.toUpperCase()),
          family.map((id) => ` ${id}`),
        ),
        fc.oneof(generation, fc.integer({ max: -1 }), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER + 1)),
        async (id, gen) => {
          const canonical = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) &&
            Number.isSafeInteger(gen) && gen >= 0;
          const minted = tokens.mint(id, gen);
          if (canonical) await expect(minted).resolves.toMatch(/\./);
          else await expect(minted).rejects.toThrow();
        },
      ),
      { numRuns: 500 },
    );
  });
});
