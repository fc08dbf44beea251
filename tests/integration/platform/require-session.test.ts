/**
 * requireSession as an app deploys it: the example function
 * (examples/surfaces/supabase/functions/whoami, importing supabase/functions/_shared/
 * require-session.ts) run by Deno from its own folder inside the Edge Runtime emulation,
 * next to the real session function, both on the test database. A revoked session's
 * very next request is refused, though its access token has not expired (P7).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { testDatabaseUrl } from "../../support/context.ts";
import { call } from "../../support/api.ts";
import { deviceKey, proof } from "../../support/dpop.ts";
import { type ClerkIssuer, startClerkIssuer } from "../../../scripts/lib/clerk-issuer.ts";
import { refreshSecret, signingJwk } from "../../../scripts/lib/throwaway-keys.ts";
import { type Deployed, runDeployed } from "../../support/platform/deployed.ts";

// runDeployed runs supabase/functions/<name>; the example lives under examples/.
const WHOAMI = "../../examples/surfaces/supabase/functions/whoami";
const ISSUER = "http://localhost:54321/functions/v1/session";
let clerk: ClerkIssuer;
let session: Deployed;
let whoami: Deployed;

beforeAll(async () => {
  clerk = await startClerkIssuer("http://localhost:3000");
  session = await runDeployed("session", {
    CLERK_ISSUER: clerk.issuer,
    CLERK_AUTHORIZED_PARTIES: "http://localhost:3000",
    SESSION_ISSUER: ISSUER,
    SESSION_SIGNING_JWK: JSON.stringify(await signingJwk("whoami-key")),
    SESSION_REFRESH_SECRET: refreshSecret(),
    SESSION_RATE_LIMITS: "off",
    DATABASE_URL: testDatabaseUrl(),
  });
  whoami = await runDeployed(WHOAMI, {
    SESSION_ISSUER: ISSUER,
    SESSION_JWKS_URL: `${session.origin}/session/.well-known/jwks.json`,
    DATABASE_URL: testDatabaseUrl(),
  }, { edge: true });
}, 240_000);

afterAll(async () => {
  await whoami?.stop();
  await session?.stop();
  await clerk?.stop();
});

const base = () => `${session.origin}/session`;
const whoamiUrl = () => `${whoami.origin}/whoami`;

async function signIn(headers: Record<string, string> = {}, sub?: string) {
  const token = await clerk.token(sub ? { sub } : {});
  const started = await call(base(), "/start", { token, json: {}, headers });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  return started.body as { access_token: string; session: { id: string }; user_id: string };
}

function expectRefusal(answer: { status: number; headers: Headers; body: unknown }, code: string) {
  expect(answer.status).toBe(401);
  expect(answer.body).toEqual({ error: code, error_description: expect.any(String) });
  expect(answer.headers.get("www-authenticate")).toContain(`error="${code}"`);
}

describe("requireSession in a deployed function", () => {
  it("answers a live session's identity, and a revoked one's very next requests 401", async () => {
    const signedIn = await signIn();
    const live = await call(whoamiUrl(), "", { token: signedIn.access_token });
    expect(live.status, JSON.stringify(live.body)).toBe(200);
    expect(live.body).toEqual({ user_id: signedIn.user_id, session_id: signedIn.session.id, org_id: null });

    const revoked = await call(base(), `/sessions/${signedIn.session.id}`, {
      method: "DELETE",
      token: signedIn.access_token,
    });
    expect(revoked.status).toBe(204);
    // The very next requests, all at once: every one is refused.
    const after = await Promise.all(
      Array.from({ length: 8 }, () => call(whoamiUrl(), "", { token: signedIn.access_token })),
    );
    for (const answer of after) expectRefusal(answer, "session_revoked");
  }, 60_000);

  it("signing out everywhere refuses every other session of the user on its next request", async () => {
    const laptop = await signIn();
    const phone = await signIn({}, laptop.user_id);
    expect((await call(whoamiUrl(), "", { token: phone.access_token })).status).toBe(200);
    const out = await call(base(), "/signout", { token: laptop.access_token, json: { scope: "global" } });
    expect(out.status).toBe(204);
    expectRefusal(await call(whoamiUrl(), "", { token: phone.access_token }), "session_revoked");
  }, 60_000);

  it("refuses requests without a valid access token, telling nothing of why", async () => {
    expectRefusal(await call(whoamiUrl(), ""), "invalid_token");
    expectRefusal(await call(whoamiUrl(), "", { token: "not.a.jwt" }), "invalid_token");
    // A Clerk session token is not a sessionguard access token (other issuer and key).
    expectRefusal(await call(whoamiUrl(), "", { token: await clerk.token() }), "invalid_token");
    const signedIn = await signIn();
    const [header, payload] = signedIn.access_token.split(".");
    // The claims of a real token under an HS256 MAC keyed with anything: algorithm pinned.
    const forged = await new SignJWT(JSON.parse(Buffer.from(payload!, "base64url").toString()))
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode(Buffer.from(header!, "base64url").toString()));
    expectRefusal(await call(whoamiUrl(), "", { token: forged }), "invalid_token");
    const tampered = signedIn.access_token.slice(0, -4) +
      (signedIn.access_token.endsWith("AAAA") ? "BBBB" : "AAAA");
    expectRefusal(await call(whoamiUrl(), "", { token: tampered }), "invalid_token");
  }, 60_000);

  it(
    "a device-bound token needs a fresh proof from its key, and a dead session gets 401 all the same",
    async () => {
      const key = await deviceKey();
      const startUrl = `${ISSUER}/start`;
      const bound = await signIn({ dpop: await proof(key, "POST", startUrl) });
      const token = bound.access_token;
      const target = `${whoami.origin}/whoami`;
      const dpopCall = (proofHeader?: string) =>
        call(whoamiUrl(), "", {
          headers: { authorization: `DPoP ${token}`, ...(proofHeader ? { dpop: proofHeader } : {}) },
        });

      const fresh = await proof(key, "GET", target, { accessToken: token });
      expect((await dpopCall(fresh)).status).toBe(200);
      expectRefusal(await dpopCall(fresh), "invalid_dpop_proof"); // the same proof again: a replay
      expectRefusal(await dpopCall(), "invalid_dpop_proof");
      const stranger = await deviceKey();
      expectRefusal(
        await dpopCall(await proof(stranger, "GET", target, { accessToken: token })),
        "invalid_dpop_proof",
      );
      expectRefusal(await dpopCall(await proof(key, "GET", target)), "invalid_dpop_proof"); // no ath

      const out = await call(base(), "/signout", {
        headers: {
          authorization: `DPoP ${token}`,
          dpop: await proof(key, "POST", `${ISSUER}/signout`, { accessToken: token }),
        },
        json: {},
      });
      expect(out.status, JSON.stringify(out.body)).toBe(204);
      expectRefusal(
        await dpopCall(await proof(key, "GET", target, { accessToken: token })),
        "session_revoked",
      );
    },
    60_000,
  );
});

describe("requireSession with the legacy HS256 secret", () => {
  it("accepts the session function's HS256 tokens and refuses them once the session is revoked", async () => {
    const secret = refreshSecret(); // any 32+ byte string serves as a JWT secret here
    const hsSession = await runDeployed("session", {
      CLERK_ISSUER: clerk.issuer,
      CLERK_AUTHORIZED_PARTIES: "http://localhost:3000",
      SESSION_ISSUER: ISSUER,
      SESSION_JWT_SECRET: secret,
      SESSION_REFRESH_SECRET: refreshSecret(),
      SESSION_RATE_LIMITS: "off",
      DATABASE_URL: testDatabaseUrl(),
    });
    const hsWhoami = await runDeployed(WHOAMI, {
      SESSION_ISSUER: ISSUER,
      SESSION_JWT_SECRET: secret,
      DATABASE_URL: testDatabaseUrl(),
    }, { edge: true });
    try {
      const hsBase = `${hsSession.origin}/session`;
      const started = await call(hsBase, "/start", { token: await clerk.token(), json: {} });
      expect(started.status, JSON.stringify(started.body)).toBe(200);
      const token = started.body.access_token as string;
      expect(JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).alg).toBe("HS256");
      expect((await call(`${hsWhoami.origin}/whoami`, "", { token })).status).toBe(200);
      // An ES256 token of the other function: the algorithm is pinned to HS256 here.
      const es = await signIn();
      expectRefusal(await call(`${hsWhoami.origin}/whoami`, "", { token: es.access_token }), "invalid_token");
      expect((await call(hsBase, "/signout", { token, json: {} })).status).toBe(204);
      expectRefusal(await call(`${hsWhoami.origin}/whoami`, "", { token }), "session_revoked");
    } finally {
      await hsWhoami.stop();
      await hsSession.stop();
    }
  }, 240_000);
});

describe("requireSession with a setting missing (Edge Runtime: Deno.exit does nothing)", () => {
  it("answers every request 500 server_error and names the setting in the log", async () => {
    const broken = await runDeployed(WHOAMI, { SESSION_ISSUER: ISSUER }, { edge: true });
    try {
      const signedIn = await signIn();
      const answer = await call(`${broken.origin}/whoami`, "", { token: signedIn.access_token });
      expect(answer.status).toBe(500);
      expect(answer.body).toEqual({ error: "server_error", error_description: expect.any(String) });
      expect(broken.log()).toContain("DATABASE_URL is not set");
    } finally {
      await broken.stop();
    }
  }, 120_000);
});
