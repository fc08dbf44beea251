/**
 * Access tokens and the routes they open: what Supabase and PostgREST see
 * (P7 end to end), listing and ending sessions, sign-out scopes, events, the
 * published keys, key rotation and the legacy HS256 path.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../support/api.ts";
import { eventsOf, familiesOf, type Sql } from "../support/database-rows.ts";
import { signingJwk } from "../../scripts/lib/throwaway-keys.ts";
import { SESSION_ISSUER, type Stack, startStack } from "../support/stack.ts";

/** Runs a query the way PostgREST does for a request bearing `claims`. */
async function selectAs(sql: Sql, claims: object, table: string): Promise<string[]> {
  return await sql.begin(async (tx) => {
    await tx`set local role authenticated`;
    await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    const rows = await tx`select body from ${tx(table)} order by body`;
    return rows.map((row) => row.body as string);
  });
}

describe("access tokens (ES256)", () => {
  let stack: Stack;
  const table = `notes_${randomBytes(4).toString("hex")}`;
  beforeAll(async () => {
    stack = await startStack({ ALLOWED_ORIGINS: "http://localhost:3000" });
    await stack.sql.unsafe(`
      create table public.${table} (id bigint generated always as identity primary key, owner_id text not null, body text not null);
      alter table public.${table} enable row level security;
      create policy ${table}_owner_live on public.${table} for select to authenticated
        using (owner_id = (select sessionguard.user_id()) and (select sessionguard.session_active()));
      grant select on public.${table} to authenticated;`);
  });
  afterAll(async () => {
    await stack?.sql.unsafe(`drop table if exists public.${table}`);
    await stack?.stop();
  });

  it("carries exactly SPEC's claims and verifies against the published JWKS", async () => {
    const started = await stack.start();
    const header = decodeProtectedHeader(started.access_token);
    expect(header.alg).toBe("ES256");
    const jwks = (await stack.call("/.well-known/jwks.json")).body;
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([header.kid]);
    expect(JSON.stringify(jwks)).not.toContain('"d"');
    const { payload } = await jwtVerify(started.access_token, createLocalJWKSet(jwks), {
      issuer: SESSION_ISSUER,
      audience: "authenticated",
      algorithms: ["ES256"],
    });
    expect(Object.keys(payload).sort()).toEqual(["aud", "exp", "iat", "iss", "role", "sid", "sub"]);
    expect(payload).toMatchObject({ sub: started.user_id, sid: started.session.id, role: "authenticated" });
    expect(payload.exp! - payload.iat!).toBe(600);

    const discovery = (await stack.call("/.well-known/openid-configuration")).body;
    expect(discovery).toMatchObject({
      issuer: SESSION_ISSUER,
      jwks_uri: `${SESSION_ISSUER}/.well-known/jwks.json`,
      id_token_signing_alg_values_supported: ["ES256"],
    });
    // The Edge Runtime hands the function paths under /session as well.
    expect((await call(stack.server.origin, "/session/.well-known/jwks.json")).body).toEqual(jwks);
  });

  it("P7: rows visible as PostgREST would run the query, gone on the next query after DELETE /sessions/<id>", async () => {
    const started = await stack.start();
    const other = await stack.start(started.user_id);
    await stack.sql`insert into ${stack.sql(table)} (owner_id, body) values
      (${started.user_id}, 'mine 1'), (${started.user_id}, 'mine 2'), (${"user_someone_else"}, 'theirs')`;
    const jwks = createLocalJWKSet((await stack.call("/.well-known/jwks.json")).body);
    const claimsOf = async (token: string) =>
      (await jwtVerify(token, jwks, { issuer: SESSION_ISSUER, audience: "authenticated" })).payload;
    const mine = await claimsOf(started.access_token);
    const mineElsewhere = await claimsOf(other.access_token);

    expect(await selectAs(stack.sql, mine, table)).toEqual(["mine 1", "mine 2"]);
    const revoked = await stack.call(`/sessions/${started.session.id}`, {
      method: "DELETE",
      token: other.access_token,
    });
    expect(revoked.status).toBe(204);
    // The access token has not expired, yet the database refuses its session at once.
    expect(await selectAs(stack.sql, mine, table)).toEqual([]);
    expect(await selectAs(stack.sql, mineElsewhere, table)).toEqual(["mine 1", "mine 2"]);
    expect((await stack.call("/sessions", { token: started.access_token })).body.error).toBe(
      "session_revoked",
    );
    expect((await stack.refresh(started.refresh_token)).body.error).toBe("session_revoked");
  });

  it("lists the caller's live sessions with the current one marked", async () => {
    const first = await stack.start(undefined, {
      "cf-connecting-ip": "198.51.100.7",
      "user-agent": "Phone/1",
    });
    const second = await stack.call("/start", {
      json: { device_name: "Work laptop" },
      token: await stack.clerk.token({ sub: first.user_id }),
      headers: { "cf-connecting-ip": "2001:db8::1", "user-agent": "Laptop/2" },
    });
    expect(second.status).toBe(200);
    const list = await stack.call("/sessions", { token: second.body.access_token });
    expect(list.status).toBe(200);
    expect(list.headers.get("cache-control")).toBe("no-store");
    const byId = Object.fromEntries(list.body.sessions.map((s: { id: string }) => [s.id, s]));
    expect(Object.keys(byId).sort()).toEqual([first.session.id, second.body.session.id].sort());
    expect(byId[second.body.session.id]).toMatchObject({
      device_name: "Work laptop",
      user_agent: "Laptop/2",
      ip: "2001:db8::1",
      current: true,
    });
    expect(byId[first.session.id]).toMatchObject({
      ip: "198.51.100.7",
      user_agent: "Phone/1",
      current: false,
    });
    expect(Object.keys(byId[first.session.id]).sort()).toEqual(
      ["created_at", "current", "device_name", "expires_at", "id", "ip", "last_active_at", "user_agent"],
    );
    expect(typeof byId[first.session.id].created_at).toBe("number");
  });

  it("answers 404 alike for a malformed id, an unknown one and another user's", async () => {
    const me = await stack.start();
    const stranger = await stack.start();
    for (
      const id of ["nope", randomUUID(), stranger.session.id, stranger.session.id.toUpperCase(), "%2e%2e"]
    ) {
      const response = await stack.call(`/sessions/${id}`, { method: "DELETE", token: me.access_token });
      expect(response.status, id).toBe(404);
      expect(response.body.error, id).toBe("not_found");
    }
    expect((await familiesOf(stack.sql, stranger.user_id))[0].revoked_at).toBeNull();
  });

  it("signs out locally, others, or globally", async () => {
    const a = await stack.start();
    const b = await stack.start(a.user_id);
    const c = await stack.start(a.user_id);
    const d = await stack.start(a.user_id);
    const live = async () =>
      (await familiesOf(stack.sql, a.user_id)).filter((f) => f.revoked_at === null).map((f) => f.id).sort();

    expect((await stack.call("/signout", { method: "POST", token: a.access_token })).status).toBe(204);
    expect(await live()).toEqual([b.session.id, c.session.id, d.session.id].sort());
    expect((await stack.refresh(a.refresh_token)).body.error).toBe("session_revoked");

    const others = await stack.call("/signout", { json: { scope: "others" }, token: b.access_token });
    expect(others.status).toBe(204);
    expect(await live()).toEqual([b.session.id]);

    const global = await stack.call("/signout", { json: { scope: "global" }, token: b.access_token });
    expect(global.status).toBe(204);
    expect(await live()).toEqual([]);
    const types = (await eventsOf(stack.sql, a.user_id)).map((e) => e.type);
    expect(types.filter((t) => t === "signed_out")).toHaveLength(4);
  });

  it("lists the caller's security events, newest first, with descriptions", async () => {
    const a = await stack.start();
    const b = await stack.start(a.user_id);
    await stack.call(`/sessions/${a.session.id}`, { method: "DELETE", token: b.access_token });
    const response = await stack.call("/events", { token: b.access_token });
    expect(response.status).toBe(200);
    const events = response.body.events;
    expect(events.map((e: { type: string }) => e.type)).toEqual([
      "session_revoked",
      "session_started",
      "session_started",
    ]);
    expect(events[0]).toMatchObject({ session_id: a.session.id });
    expect(Object.keys(events[0]).sort()).toEqual(
      ["created_at", "description", "id", "ip", "session_id", "type", "user_agent"],
    );
    for (const event of events) expect(event.description.length).toBeGreaterThan(10);
    expect(events[0].id).toBeGreaterThan(events[2].id);
  });

  it("refuses access tokens it did not issue or that have lapsed", async () => {
    const started = await stack.start();
    const claims = decodeJwt(started.access_token);
    const foreignKey = await importJWK(await signingJwk(), "ES256");
    const header = decodeProtectedHeader(started.access_token);
    const sign = (payload: object, key = foreignKey, kid = header.kid) =>
      new SignJWT({ ...payload }).setProtectedHeader({ alg: "ES256", kid }).sign(key);
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const tokens = {
      "foreign key, known kid": await sign(claims),
      "alg none": `${b64({ alg: "none", kid: header.kid })}.${b64(claims)}.`,
      "tampered sub": started.access_token.replace(/\.[^.]+\./, `.${b64({ ...claims, sub: "user_x" })}.`),
      "Clerk token": await stack.clerk.token({ sub: started.user_id }),
      garbage: "garbage",
    };
    for (const [name, token] of Object.entries(tokens)) {
      const response = await stack.call("/sessions", { token });
      expect(response.status, name).toBe(401);
      expect(response.body.error, name).toBe("invalid_token");
      expect(response.headers.get("www-authenticate"), name).toContain('error="invalid_token"');
    }
  });

  it("answers CORS preflights for allowed origins only, and marks errors too", async () => {
    const preflight = (origin: string) =>
      stack.call("/refresh", {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
    const allowed = await preflight("http://localhost:3000");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(allowed.headers.get("access-control-allow-methods")).toContain("POST");
    const denied = await preflight("https://evil.example");
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
    const error = await stack.call("/refresh", { json: {}, headers: { origin: "http://localhost:3000" } });
    expect(error.status).toBe(400);
    expect(error.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(error.headers.get("access-control-expose-headers")).toContain("www-authenticate");
  });
});

describe("signing keys rotate", () => {
  it("signs with the newest key and still accepts the older one", async () => {
    const newest = await signingJwk("new-key");
    const older = await signingJwk("old-key");
    const stack = await startStack({ SESSION_SIGNING_JWK: JSON.stringify([newest, older]) });
    try {
      const started = await stack.start();
      expect(decodeProtectedHeader(started.access_token).kid).toBe("new-key");
      const jwks = (await stack.call("/.well-known/jwks.json")).body;
      expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(["new-key", "old-key"]);
      const oldToken = await new SignJWT({ ...decodeJwt(started.access_token) })
        .setProtectedHeader({ alg: "ES256", kid: "old-key" })
        .sign(await importJWK(older, "ES256"));
      expect((await stack.call("/sessions", { token: oldToken })).status).toBe(200);
    } finally {
      await stack.stop();
    }
  });
});

describe("legacy HS256 secret (SESSION_JWT_SECRET)", () => {
  it("signs HS256 tokens the secret verifies, and publishes an empty JWKS", async () => {
    const secret = randomBytes(32).toString("base64url");
    const stack = await startStack({ SESSION_SIGNING_JWK: undefined, SESSION_JWT_SECRET: secret });
    try {
      const started = await stack.start();
      const { payload, protectedHeader } = await jwtVerify(
        started.access_token,
        new TextEncoder().encode(secret),
        {
          issuer: SESSION_ISSUER,
          audience: "authenticated",
        },
      );
      expect(protectedHeader.alg).toBe("HS256");
      expect(protectedHeader.kid).toBeUndefined(); // no SESSION_JWT_KID: no kid (PostgREST 13+)
      expect(payload.sid).toBe(started.session.id);
      expect((await stack.call("/.well-known/jwks.json")).body).toEqual({ keys: [] });
      expect(
        (await stack.call("/.well-known/openid-configuration")).body.id_token_signing_alg_values_supported,
      )
        .toEqual(["HS256"]);
      expect((await stack.call("/sessions", { token: started.access_token })).status).toBe(200);
    } finally {
      await stack.stop();
    }
  });
});
