/**
 * P10: /start trusts only a genuine, current Clerk session token of this
 * instance, and tells the client nothing about why it refused one.
 */
import { createHmac, randomUUID } from "node:crypto";
import { generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clerkId, startClerkIssuer } from "../../scripts/lib/clerk-issuer.ts";
import { familiesOf } from "../support/database-rows.ts";
import { type Stack, startStack } from "../support/stack.ts";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

describe("Clerk session tokens from the instance's JWKS", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.stop());

  async function startWith(token: string) {
    return await stack.call("/start", { method: "POST", token });
  }

  it("accepts a current token and records the Clerk session on the family", async () => {
    const userId = clerkId("user");
    const sid = clerkId("sess");
    const response = await startWith(await stack.clerk.token({ sub: userId, sid }));
    expect(response.status).toBe(200);
    expect(response.body.user_id).toBe(userId);
    expect((await familiesOf(stack.sql, userId))[0].clerk_session_id).toBe(sid);
  });

  it("accepts a token without azp, and one expired within the 5 s skew", async () => {
    expect((await startWith(await stack.clerk.token({ azp: undefined }))).status).toBe(200);
    const t = now();
    expect((await startWith(await stack.clerk.token({ iat: t - 62, nbf: t - 72, exp: t - 2 }))).status).toBe(
      200,
    );
  });

  it("refuses every bad token with invalid_token alone, and starts nothing", async () => {
    const t = now();
    const { privateKey: strangerKey } = await generateKeyPair("RS256");
    const { privateKey: ecKey } = await generateKeyPair("ES256");
    const userId = clerkId("user");
    const claims = {
      sub: userId,
      sid: clerkId("sess"),
      iss: stack.clerk.issuer,
      azp: "http://localhost:3000",
      iat: t,
      nbf: t - 10,
      exp: t + 60,
      v: 2,
    };
    const hs256WithPublicKey = (() => {
      const input = `${b64({ alg: "HS256", kid: stack.clerk.kid, typ: "JWT" })}.${b64(claims)}`;
      return `${input}.${createHmac("sha256", stack.clerk.publicKeyPem).update(input).digest("base64url")}`;
    })();

    const cases: Record<string, string> = {
      expired: await stack.clerk.token({ sub: userId, iat: t - 75, nbf: t - 85, exp: t - 15 }),
      "not yet valid": await stack.clerk.token({ sub: userId, iat: t + 30, nbf: t + 20, exp: t + 90 }),
      "wrong issuer": await stack.clerk.token({ sub: userId, iss: "https://evil.clerk.accounts.dev" }),
      "wrong azp": await stack.clerk.token({ sub: userId, azp: "https://evil.example" }),
      "alg none": `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`,
      "HS256 signed with the RSA public key": hs256WithPublicKey,
      "unknown kid": await stack.clerk.token({ sub: userId }, { key: strangerKey, kid: "ins_unknown" }),
      "known kid, other key": await stack.clerk.token({ sub: userId }, { key: strangerKey }),
      "ES256 under the known kid": await stack.clerk.token({ sub: userId }, { key: ecKey, alg: "ES256" }),
      "pending session": await stack.clerk.token({ sub: userId, sts: "pending" }),
      "no sid": await stack.clerk.token({ sub: userId, sid: undefined }),
      "no sub": await stack.clerk.token({ sub: undefined }),
      "no exp": await stack.clerk.token({ sub: userId, exp: undefined }),
      "tampered payload": (await stack.clerk.token({ sub: clerkId("user") })).replace(
        /\.[^.]+\./,
        `.${b64(claims)}.`,
      ),
      garbage: "not.a.jwt",
    };
    const fetchesBefore = stack.clerk.jwksFetches();
    const descriptions = new Set<string>();
    for (const [name, token] of Object.entries(cases)) {
      const response = await startWith(token);
      expect(response.status, name).toBe(401);
      expect(response.body.error, name).toBe("invalid_token");
      expect(response.headers.get("www-authenticate"), name).toMatch(/^Bearer .*error="invalid_token"/);
      descriptions.add(response.body.error_description);
    }
    // The client learns nothing about which check failed; the log does.
    expect(descriptions.size).toBe(1);
    expect(stack.server.log()).toContain("session status is pending");
    expect(stack.server.log()).toContain("CLERK_AUTHORIZED_PARTIES");
    // Unknown kids refetch the key set at most once per cooldown.
    expect(stack.clerk.jwksFetches() - fetchesBefore).toBeLessThanOrEqual(1);
    expect(await familiesOf(stack.sql, userId)).toEqual([]);
  });

  it("refuses a token of a Clerk session that Clerk reported ended, within its 60 s life", async () => {
    const userId = clerkId("user");
    const sid = clerkId("sess");
    const token = await stack.clerk.token({ sub: userId, sid });
    await stack
      .sql`select * from sessionguard.apply_clerk_event(${randomUUID()}, 'session.ended', ${sid}, null)`;
    const response = await startWith(token);
    expect(response.status).toBe(401);
    expect(response.body.error).toBe("invalid_token");
    expect(await familiesOf(stack.sql, userId)).toEqual([]);
  });

  it("refuses a Bearer header that is missing or malformed", async () => {
    for (
      const authorization of [undefined, "", "Bearer", "Basic dXNlcjpwdw==", "Bearer a b", "Bearer \u00e9"]
    ) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      const response = await stack.call("/start", { method: "POST", headers }).catch(() => null);
      if (response === null) continue; // fetch itself refuses non-ASCII header values
      expect(response.status, authorization).toBe(401);
      expect(response.body.error, authorization).toBe("invalid_token");
    }
  });
});

describe("Clerk session tokens against a pinned PEM key (CLERK_JWT_KEY)", () => {
  it("verifies with no network and still refuses other keys", async () => {
    const pinned = await startClerkIssuer();
    const stack = await startStack({ CLERK_JWT_KEY: pinned.publicKeyPem, CLERK_ISSUER: pinned.issuer });
    try {
      const ok = await stack.call("/start", { method: "POST", token: await pinned.token() });
      expect(ok.status).toBe(200);
      // The stack's own issuer signs with another key under the same claims shape.
      const other = await stack.clerk.token({ iss: pinned.issuer });
      expect((await stack.call("/start", { method: "POST", token: other })).body.error).toBe("invalid_token");
      expect(pinned.jwksFetches()).toBe(0);
    } finally {
      await stack.stop();
      await pinned.stop();
    }
  });
});
