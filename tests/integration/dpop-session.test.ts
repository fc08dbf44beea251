/**
 * Device-bound sessions (DPoP, RFC 9449) against the real Deno server and
 * Postgres, with SESSION_DPOP=optional (the default): a family started with a
 * proof only rotates for proofs from that key; a stolen refresh token replayed
 * with another key or none is refused, recorded, and never gets a successor.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import type { ApiResponse } from "../support/api.ts";
import { clerkId } from "../../scripts/lib/clerk-issuer.ts";
import { eventsOf } from "../support/database-rows.ts";
import {
  type DeviceKey,
  deviceKey,
  hmacProof,
  proof,
  type ProofOptions,
  unsignedProof,
} from "../support/dpop.ts";
import { SESSION_ISSUER, type Stack, startStack, type TokenResponse } from "../support/stack.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ SESSION_RATE_LIMITS: "off" });
});
afterAll(() => stack?.stop());

/** The family's generation and binding, straight from the database. */
async function familyRow(
  id: string,
): Promise<{ generation: string; dpop_jkt: string | null; revoked_at: Date | null }> {
  const [row] = await stack.sql<{ generation: string; dpop_jkt: string | null; revoked_at: Date | null }[]>`
    select generation::text as generation, dpop_jkt, revoked_at from sessionguard.families where id = ${id}`;
  return row;
}

/** /start with a proof from `key` (bound), or without one. */
async function start(key: DeviceKey | null, user = clerkId("user")): Promise<TokenResponse> {
  const headers: Record<string, string> = key
    ? { dpop: await proof(key, "POST", `${stack.server.url}/start`) }
    : {};
  return await stack.start(user, headers);
}

/** /refresh with a proof from `key` (or the given raw DPoP header, or none). */
async function refresh(
  token: string,
  key: DeviceKey | string | null,
  options: ProofOptions = {},
): Promise<ApiResponse> {
  const dpop = key === null
    ? undefined
    : typeof key === "string"
    ? key
    : await proof(key, "POST", `${stack.server.url}/refresh`, options);
  return await stack.refresh(token, dpop === undefined ? {} : { dpop });
}

/** Expects a refusal that changed nothing: no token, same generation. */
async function expectRefused(
  response: ApiResponse,
  sessionId: string,
  generation: string,
  code = "invalid_dpop_proof",
) {
  expect(response.status, JSON.stringify(response.body)).toBe(401);
  expect(response.body).toEqual({ error: code, error_description: expect.any(String) });
  expect(response.headers.get("www-authenticate")).toContain(`error="${code}"`);
  expect(await familyRow(sessionId)).toMatchObject({ generation, revoked_at: null });
}

const keyMismatches = async (userId: string) =>
  (await eventsOf(stack.sql, userId)).filter((e) => e.type === "dpop_key_mismatch");

describe("binding at /start", () => {
  it("a proof binds the family to the key's thumbprint; its access tokens carry cnf.jkt", async () => {
    const key = await deviceKey();
    const started = await start(key);
    expect((await familyRow(started.session.id)).dpop_jkt).toBe(key.jkt);
    expect(decodeJwt(started.access_token).cnf).toEqual({ jkt: key.jkt });
    expect(started.token_type).toBe("DPoP");

    const next = await refresh(started.refresh_token, key);
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(decodeJwt(next.body.access_token).cnf).toEqual({ jkt: key.jkt });
    expect((await familyRow(started.session.id)).generation).toBe("1");
  });

  it("without a proof the family stays unbound: plain bearer tokens, as before", async () => {
    const started = await start(null);
    expect((await familyRow(started.session.id)).dpop_jkt).toBeNull();
    expect(decodeJwt(started.access_token).cnf).toBeUndefined();
    expect(started.token_type).toBe("bearer");
    expect((await refresh(started.refresh_token, null)).status).toBe(200);
  });

  it("an invalid proof at /start is refused and starts nothing", async () => {
    const user = clerkId("user");
    const key = await deviceKey();
    const response = await stack.call("/start", {
      method: "POST",
      token: await stack.clerk.token({ sub: user }),
      headers: { dpop: await proof(key, "POST", `${stack.server.url}/refresh`) },
    });
    expect(response.status).toBe(401);
    expect(response.body.error).toBe("invalid_dpop_proof");
    const [{ n }] = await stack
      .sql`select count(*)::int as n from sessionguard.families where user_id = ${user}`;
    expect(n).toBe(0);
  });
});

describe("a stolen refresh token", () => {
  it("replayed with another key: refused, dpop_key_mismatch recorded, no successor; the device goes on", async () => {
    const device = await deviceKey();
    const thief = await deviceKey();
    const started = await start(device);

    const stolen = await refresh(started.refresh_token, thief, {});
    await expectRefused(stolen, started.session.id, "0");
    expect(stolen.body.refresh_token).toBeUndefined();
    const events = await keyMismatches(started.user_id);
    expect(events).toHaveLength(1);
    expect(events[0].session_id).toBe(started.session.id);

    // The same token with the device's key still rotates: the thief moved nothing.
    const own = await refresh(started.refresh_token, device);
    expect(own.status).toBe(200);
    expect((await familyRow(started.session.id)).generation).toBe("1");
  });

  it("replayed with no proof at all: refused the same way", async () => {
    const device = await deviceKey();
    const started = await start(device);
    const stolen = await refresh(started.refresh_token, null);
    await expectRefused(stolen, started.session.id, "0");
    expect(await keyMismatches(started.user_id)).toHaveLength(1);
  });

  it("a spent token replayed without the key cannot even trigger theft revocation", async () => {
    const device = await deviceKey();
    const thief = await deviceKey();
    const started = await start(device);
    const t1 = (await refresh(started.refresh_token, device)).body as TokenResponse;
    await refresh(t1.refresh_token, device);
    // Outside the grace window this token would be reuse; without the key it is only a mismatch.
    const stolen = await refresh(started.refresh_token, thief);
    await expectRefused(stolen, started.session.id, "2");
    const types = (await eventsOf(stack.sql, started.user_id)).map((e) => e.type);
    expect(types).not.toContain("refresh_token_reused");
    expect(types).toContain("dpop_key_mismatch");
  });

  it("the device's own key still catches reuse of its spent tokens (P2 holds for bound families)", async () => {
    const device = await deviceKey();
    const started = await start(device);
    const t1 = (await refresh(started.refresh_token, device)).body as TokenResponse;
    await refresh(t1.refresh_token, device);
    const replay = await refresh(started.refresh_token, device);
    expect(replay.body.error).toBe("refresh_token_reused");
    expect((await familyRow(started.session.id)).revoked_at).not.toBeNull();
  });
});

describe("proof checks at /refresh (each refusal changes nothing)", () => {
  let key: DeviceKey;
  let started: TokenResponse;
  beforeAll(async () => {
    key = await deviceKey();
    started = await start(key);
  });

  it("refuses a proof used twice (same jti), even with the next token", async () => {
    const fresh = await deviceKey();
    const s = await start(fresh);
    const once = await proof(fresh, "POST", `${stack.server.url}/refresh`);
    const first = await refresh(s.refresh_token, once);
    expect(first.status).toBe(200);
    await expectRefused(await refresh(first.body.refresh_token, once), s.session.id, "1");
    await expectRefused(await refresh(s.refresh_token, once), s.session.id, "1");
  });

  it("refuses a wrong htm or htu", async () => {
    const url = `${stack.server.url}/refresh`;
    const cases: ProofOptions[] = [
      { htm: "GET" },
      { htu: `${stack.server.url}/start` },
      { htu: url.replace("127.0.0.1", "127.0.0.2") },
      { htu: "https://evil.example/functions/v1/session/refresh" },
    ];
    for (const options of cases) {
      await expectRefused(await refresh(started.refresh_token, key, options), started.session.id, "0");
    }
  });

  it("refuses a stale or a future iat", async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const iat of [now - 300, now + 300]) {
      await expectRefused(await refresh(started.refresh_token, key, { iat }), started.session.id, "0");
    }
  });

  it("refuses a proof signed by a key other than the one in its header", async () => {
    const other = await deviceKey();
    const forged = await proof(key, "POST", `${stack.server.url}/refresh`, { signWith: other.privateKey });
    await expectRefused(await refresh(started.refresh_token, forged), started.session.id, "0");
  });

  it("refuses alg none and HS256 proofs", async () => {
    const url = `${stack.server.url}/refresh`;
    await expectRefused(
      await refresh(started.refresh_token, unsignedProof(key, "POST", url)),
      started.session.id,
      "0",
    );
    await expectRefused(
      await refresh(started.refresh_token, await hmacProof("POST", url)),
      started.session.id,
      "0",
    );
  });

  it("accepts the public URL forms: the issuer's base, and /session/… as the Edge Runtime passes it", async () => {
    const viaIssuer = await refresh(started.refresh_token, key, { htu: `${SESSION_ISSUER}/refresh` });
    expect(viaIssuer.status, JSON.stringify(viaIssuer.body)).toBe(200);
    const internal = await fetch(`${stack.server.origin}/session/refresh`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        dpop: await proof(key, "POST", `${stack.server.url}/refresh`),
      },
      body: JSON.stringify({ refresh_token: viaIssuer.body.refresh_token }),
    });
    // The runtime sees /session/refresh; the client signed the public /functions/v1/session/refresh.
    expect(internal.status, await internal.clone().text()).toBe(200);
  });
});

describe("benign races with a bound family (P3)", () => {
  it("ten concurrent refreshes with the same key all get the identical successor", async () => {
    const key = await deviceKey();
    const started = await start(key);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => refresh(started.refresh_token, key)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(responses.map((r) => r.body.refresh_token)).size).toBe(1);
    expect((await familyRow(started.session.id)).generation).toBe("1");
  });

  it("a different key inside the grace window never gets the successor", async () => {
    const key = await deviceKey();
    const thief = await deviceKey();
    const started = await start(key);
    const [own, stolen, bare] = await Promise.all([
      refresh(started.refresh_token, key),
      refresh(started.refresh_token, thief),
      refresh(started.refresh_token, null),
    ]);
    expect(own.status).toBe(200);
    for (const r of [stolen, bare]) {
      expect(r.status).toBe(401);
      expect(r.body.error).toBe("invalid_dpop_proof");
      expect(r.body.refresh_token).toBeUndefined();
    }
    // And after the rotation, the just-spent token inside the window still only goes to the key.
    const late = await refresh(started.refresh_token, thief);
    expect(late.body.error).toBe("invalid_dpop_proof");
    const retry = await refresh(started.refresh_token, key);
    expect(retry.body.refresh_token).toBe(own.body.refresh_token);
    expect((await familyRow(started.session.id)).generation).toBe("1");
  });
});

describe("access-token routes of a bound session", () => {
  let key: DeviceKey;
  let started: TokenResponse;
  beforeAll(async () => {
    key = await deviceKey();
    started = await start(key);
  });

  const get = async (path: string, headers: Record<string, string>, scheme = "DPoP") =>
    await stack.call(path, { headers: { authorization: `${scheme} ${started.access_token}`, ...headers } });
  const proofFor = (method: string, path: string, options: ProofOptions = {}) =>
    proof(key, method, `${stack.server.url}${path}`, { accessToken: started.access_token, ...options });

  it("need a proof from the bound key carrying the token's hash", async () => {
    expect((await get("/sessions", { dpop: await proofFor("GET", "/sessions") })).status).toBe(200);
    expect((await get("/sessions", { dpop: await proofFor("GET", "/sessions") }, "Bearer")).status).toBe(200);
    const refusals: Record<string, Record<string, string>> = {
      "no proof": {},
      "no ath": { dpop: await proof(key, "GET", `${stack.server.url}/sessions`) },
      "ath of another token": { dpop: await proofFor("GET", "/sessions", { accessToken: "x.y.z" }) },
      "another key": {
        dpop: await proof(await deviceKey(), "GET", `${stack.server.url}/sessions`, {
          accessToken: started.access_token,
        }),
      },
      "wrong route": { dpop: await proofFor("GET", "/events") },
    };
    for (const [name, headers] of Object.entries(refusals)) {
      const response = await get("/sessions", headers);
      expect(response.status, name).toBe(401);
      expect(response.body.error, name).toBe("invalid_dpop_proof");
    }
  });

  it("refuse a replayed proof", async () => {
    const once = await proofFor("GET", "/events");
    expect((await get("/events", { dpop: once })).status).toBe(200);
    const again = await get("/events", { dpop: once });
    expect(again.status).toBe(401);
    expect(again.body.error).toBe("invalid_dpop_proof");
  });

  it("/events, DELETE /sessions/:id and /signout work with proofs", async () => {
    const events = await get("/events", { dpop: await proofFor("GET", "/events") });
    expect(events.body.events.map((e: { type: string }) => e.type)).toContain("session_started");

    const other = await start(null, started.user_id);
    const path = `/sessions/${other.session.id}`;
    const withoutProof = await stack.call(path, { method: "DELETE", token: started.access_token });
    expect(withoutProof.body.error).toBe("invalid_dpop_proof");
    expect((await familyRow(other.session.id)).revoked_at).toBeNull();
    const deleted = await stack.call(path, {
      method: "DELETE",
      headers: { authorization: `DPoP ${started.access_token}`, dpop: await proofFor("DELETE", path) },
    });
    expect(deleted.status).toBe(204);

    const noProof = await stack.call("/signout", { method: "POST", token: started.access_token, json: {} });
    expect(noProof.body.error).toBe("invalid_dpop_proof");
    expect((await familyRow(started.session.id)).revoked_at).toBeNull();
    const signedOut = await stack.call("/signout", {
      method: "POST",
      json: {},
      headers: { authorization: `DPoP ${started.access_token}`, dpop: await proofFor("POST", "/signout") },
    });
    expect(signedOut.status).toBe(204);
    expect((await familyRow(started.session.id)).revoked_at).not.toBeNull();
  });

  it("unbound sessions' routes ignore a DPoP header's absence, as before", async () => {
    const plain = await start(null);
    expect((await stack.call("/sessions", { token: plain.access_token })).status).toBe(200);
  });
});
