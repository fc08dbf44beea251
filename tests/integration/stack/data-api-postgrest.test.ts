/**
 * The local Data API stand-in against PostgREST's documented answers, over HTTP to the
 * real gateway (dev/gateway.ts in Deno) on the test database. Each expectation names
 * where PostgREST (v14.17) documents it:
 *   errors.rst   docs/references/errors.rst (status table, PGRST codes, RAISE)
 *   auth.rst     docs/references/auth.rst (kid, 30 s skew, role)
 *   Error.hs     src/PostgREST/Error.hs (messages, the 401/403 split of 42501)
 * Hostile identifiers and values are tried, and must change nothing.
 */
import { SignJWT } from "jose";
import { importJWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_PUBLISHABLE_KEY } from "../../../dev/data-api/handler.ts";
import { refreshSecret, signingJwk } from "../../../scripts/lib/throwaway-keys.ts";
import { type GatewayProcess, startGateway } from "../../../scripts/stack/gateway.ts";
import { freePort } from "../../../scripts/lib/ports.ts";
import { testDatabaseUrl } from "../../support/context.ts";
import { openTestDb } from "../../support/database-rows.ts";
import { root } from "../../support/npm-start.ts";

const sql = openTestDb();
const table = `dataapi_items_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
let gateway: GatewayProcess;
let origin: string;
let jwk: Record<string, string>;

async function token(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({
    role: "authenticated",
    sub: "user_conformance",
    iat: now,
    exp: now + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: "ES256", kid: jwk.kid, ...header })
    .sign(await importJWK(jwk, "ES256"));
}

async function rest(
  path: string,
  init: { method?: string; token?: string | null; headers?: Record<string, string>; body?: string } = {},
) {
  const headers: Record<string, string> = { apikey: LOCAL_PUBLISHABLE_KEY, ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(`${origin}/rest/v1${path}`, {
    method: init.method ?? "GET",
    headers,
    body: init.body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === "" ? null : JSON.parse(text) };
}

beforeAll(async () => {
  await sql.unsafe(`
    create table public.${table} (id int primary key, name text not null, owner text);
    alter table public.${table} enable row level security;
    create policy everyone on public.${table} for all to authenticated using (true) with check (true);
    revoke all on public.${table} from anon, authenticated;
    grant select, insert, delete on public.${table} to authenticated;
    insert into public.${table} values (1, 'one', 'a'), (2, 'two', 'b');
    create function public.${table}_raise(kind text) returns void language plpgsql as $$
    begin
      if kind = 'pgrst' then
        raise sqlstate 'PGRST' using message = '{"code":"123","message":"Payment Required","details":"Quota exceeded","hint":"Upgrade your plan"}',
          detail = '{"status":402,"headers":{"X-Powered-By":"Nerd Rage"}}';
      elsif kind = 'pt' then
        raise sqlstate 'PT418' using message = 'teapot';
      else
        raise exception 'I refuse!' using detail = 'Pretty simple', hint = 'There is nothing you can do.';
      end if;
    end $$;
    grant execute on function public.${table}_raise(text) to authenticated;
    create table public.${table}_own (id int generated always as identity primary key,
      owner text not null default (auth.jwt() ->> 'sub'), body text not null);
    alter table public.${table}_own enable row level security;
    create policy own on public.${table}_own for all to authenticated
      using (owner = (auth.jwt() ->> 'sub')) with check (owner = (auth.jwt() ->> 'sub'));
    revoke all on public.${table}_own from anon, authenticated;
    grant select, insert on public.${table}_own to authenticated;
    create function public.${table}_claims() returns jsonb language sql stable as $$ select auth.jwt() $$;
    grant execute on function public.${table}_claims() to anon, authenticated;`);
  jwk = await signingJwk();
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  gateway = await startGateway({
    root,
    port,
    env: {
      SESSION_SIGNING_JWK: JSON.stringify(jwk),
      SESSION_REFRESH_SECRET: refreshSecret(),
      SESSION_ISSUER: `${origin}/functions/v1/session`,
      CLERK_ISSUER: "https://clerk.invalid",
      CLERK_AUTHORIZED_PARTIES: origin,
      CLERK_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString("base64")}`,
      DATABASE_URL: testDatabaseUrl(),
      SG_PUBLIC_URL: origin,
    },
    onLine: () => {},
  });
  await gateway.listen();
});

afterAll(async () => {
  await gateway?.stop();
  await sql.unsafe(
    `drop function if exists public.${table}_raise(text); drop function if exists public.${table}_claims();
    drop table if exists public.${table}; drop table if exists public.${table}_own`,
  );
  await sql.end();
});

const count = async () => Number((await sql.unsafe(`select count(*) from public.${table}`))[0]!.count);

describe("the gateway's API key (Supabase's gateway, not PostgREST)", () => {
  it("refuses a request without an apikey, and one with a wrong key", async () => {
    const none = await fetch(`${origin}/rest/v1/${table}`);
    expect(none.status).toBe(401);
    expect((await none.json()).message).toBe("No API key found in request");
    expect((await rest(`/${table}`, { headers: { apikey: "sb_publishable_wrong" } })).status).toBe(401);
  });
});

describe("JWT rules (auth.rst, Error.hs)", () => {
  it("accepts the stack's own token and runs as its role", async () => {
    const answer = await rest(`/${table}?select=id&order=id`, { token: await token({}) });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual([{ id: 1 }, { id: 2 }]);
    expect(answer.headers.get("content-range")).toBe("0-1/*");
    expect(answer.headers.get("x-sessionguard-data-api")).toBe("local stand-in"); // labelled, like the dev issuer
  });

  it("PGRST301 for a malformed token, a kid no key has, a forged signature", async () => {
    const malformed = await rest(`/${table}`, { token: "abc" });
    expect([malformed.status, malformed.body.code, malformed.body.message]).toEqual([
      401,
      "PGRST301",
      "Expected 3 parts in JWT; got 1",
    ]);
    expect(malformed.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token"/);
    expect((await rest(`/${table}`, { token: await token({}, { kid: "other" }) })).body.code).toBe(
      "PGRST301",
    );
    const good = await token({});
    const forged = `${good.split(".").slice(0, 2).join(".")}.${
      good.split(".")[2]!.replace(/^./, (c) => c === "A" ? "B" : "A")
    }`;
    expect((await rest(`/${table}`, { token: forged })).status).toBe(401);
    const claims = JSON.parse(Buffer.from(good.split(".")[1]!, "base64url").toString());
    const escalated = [
      good.split(".")[0],
      Buffer.from(JSON.stringify({ ...claims, role: "service_role" })).toString("base64url"),
      good.split(".")[2],
    ].join(".");
    expect((await rest(`/${table}`, { token: escalated })).body.code).toBe("PGRST301");
  });

  it("30 s of clock skew on exp and nbf, then PGRST303", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await rest(`/${table}`, { token: await token({ exp: now - 20 }) })).status).toBe(200);
    const expired = await rest(`/${table}`, { token: await token({ exp: now - 40 }) });
    expect([expired.status, expired.body.code, expired.body.message]).toEqual([
      401,
      "PGRST303",
      "JWT expired",
    ]);
    expect((await rest(`/${table}`, { token: await token({ nbf: now + 20 }) })).status).toBe(200);
    expect((await rest(`/${table}`, { token: await token({ nbf: now + 60 }) })).body.message).toBe(
      "JWT not yet valid",
    );
    expect((await rest(`/${table}`, { token: await token({ exp: "soon" }) })).body.code).toBe("PGRST303");
  });

  it("a role the authenticator may not become is refused: unknown 401, not granted 403", async () => {
    const unknown = await rest(`/${table}`, { token: await token({ role: "no_such_role" }) });
    expect([unknown.status, unknown.body.code]).toEqual([401, "22023"]);
    const superuser = await rest(`/${table}`, { token: await token({ role: "postgres" }) });
    expect([superuser.status, superuser.body.code]).toEqual([403, "42501"]);
  });

  it("42501 is 401 without a token and 403 with one (errors.rst status table)", async () => {
    const anonymous = await rest(`/${table}`);
    expect([anonymous.status, anonymous.body.code]).toEqual([401, "42501"]);
    expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");
    const noRole = await rest(`/${table}`, { token: await token({ role: undefined }) });
    expect(noRole.status).toBe(403); // no role claim: db-anon-role, but a token was sent
    const update = await rest(`/${table}?id=eq.1`, {
      method: "PATCH",
      token: await token({}),
      body: '{"name":"x"}',
    });
    expect([update.status, update.body.code]).toEqual([403, "42501"]);
  });
});

describe("requests PostgREST refuses (errors.rst, Error.hs)", () => {
  it("answers each with PostgREST's status, code and body shape", async () => {
    const auth = await token({});
    const cases: Array<[string, Parameters<typeof rest>[1], number, string]> = [
      ["/no_such_table", {}, 404, "PGRST205"],
      [`/${table}?id=foo.1`, {}, 400, "PGRST100"],
      [`/${table}?id=is.maybe`, {}, 400, "PGRST100"],
      [`/${table}?limit=-1`, {}, 416, "PGRST103"],
      [`/${table}?nope=eq.1`, {}, 400, "42703"],
      [`/${table}?id=like.1*`, {}, 400, "PGRST127"],
      [`/${table}/deeper`, {}, 404, "PGRST125"],
      [`/%E0%A4%A`, {}, 404, "PGRST125"],
      [`/${table}`, { method: "PURGE" }, 405, "PGRST117"],
      [`/rpc/${table}_raise`, { method: "PATCH" }, 405, "PGRST101"],
      [`/${table}`, { method: "POST", body: "{not json" }, 400, "PGRST102"],
      [`/${table}`, { method: "POST", body: '{"id":3,"nope":1}' }, 400, "PGRST204"],
      [`/${table}`, { method: "POST", body: '{"id":1,"name":"dup"}' }, 409, "23505"],
      [`/${table}`, { headers: { accept: "text/csv" } }, 406, "PGRST107"],
      [`/${table}`, { headers: { accept: "application/vnd.pgrst.object+json" } }, 406, "PGRST116"],
      [`/${table}`, { headers: { "accept-profile": "sessionguard" } }, 406, "PGRST106"],
      [`/rpc/no_such_function`, { method: "POST", body: "{}" }, 404, "PGRST202"],
      [`/rpc/${table}_raise`, { method: "POST", body: '{"kind":"plain"}' }, 400, "P0001"],
      [`/rpc/${table}_raise`, { method: "POST", body: '{"kind":"pt"}' }, 418, "PT418"],
    ];
    for (const [path, init, status, code] of cases) {
      const answer = await rest(path, { token: auth, ...init });
      expect([path, init?.method, answer.status, answer.body?.code]).toEqual([
        path,
        init?.method,
        status,
        code,
      ]);
      expect(Object.keys(answer.body).sort()).toEqual(["code", "details", "hint", "message"]);
      expect(answer.headers.get("proxy-status")).toBe(`PostgREST; error=${code}`);
    }
    expect((await rest("/no_such_table", { token: auth })).body.message).toBe(
      "Could not find the table 'public.no_such_table' in the schema cache",
    );
    expect(await count()).toBe(2);
  });

  it("RAISE SQLSTATE 'PGRST' sets the status, headers and body (errors.rst, Add HTTP Headers with RAISE)", async () => {
    const answer = await rest(`/rpc/${table}_raise`, {
      method: "POST",
      token: await token({}),
      body: '{"kind":"pgrst"}',
    });
    expect(answer.status).toBe(402);
    expect(answer.headers.get("x-powered-by")).toBe("Nerd Rage");
    expect(answer.body).toEqual({
      code: "123",
      message: "Payment Required",
      details: "Quota exceeded",
      hint: "Upgrade your plan",
    });
  });

  it("an UPDATE or DELETE without a filter is refused and deletes nothing (pg-safeupdate, 21000 as 400)", async () => {
    const answer = await rest(`/${table}`, { method: "DELETE", token: await token({}) });
    expect([answer.status, answer.body.code, answer.body.message]).toEqual([
      400,
      "21000",
      "DELETE requires a WHERE clause",
    ]);
    expect(await count()).toBe(2);
  });
});

describe("concurrent requests of different users (claims are transaction-local)", () => {
  it("each of 24 users, all at once on a pool of 4 connections, writes and reads only their own rows", async () => {
    const users = Array.from(
      { length: 24 },
      (_, i) => `user_race_${i}_${Math.random().toString(36).slice(2, 6)}`,
    );
    const tokens = await Promise.all(users.map((sub) => token({ sub })));
    const results = await Promise.all(users.map(async (sub, i) => {
      const insert = await rest(`/${table}_own?select=owner,body`, {
        method: "POST",
        token: tokens[i],
        headers: { prefer: "return=representation", "content-type": "application/json" },
        body: JSON.stringify({ body: `note of ${sub}` }),
      });
      const read = await rest(`/${table}_own?select=owner,body`, { token: tokens[i] });
      const anonymous = await rest(`/rpc/${table}_claims`, { method: "POST", body: "{}" });
      return { sub, insert, read, anonymous };
    }));
    for (const { sub, insert, read, anonymous } of results) {
      expect(insert.status).toBe(201);
      expect(insert.body).toEqual([{ owner: sub, body: `note of ${sub}` }]);
      expect(read.body).toEqual([{ owner: sub, body: `note of ${sub}` }]);
      expect(anonymous.body).toEqual({ role: "anon" }); // no user's claims left on a pooled connection
    }
  });
});

describe("hostile identifiers and values change nothing", () => {
  it("quotes identifiers and binds values", async () => {
    const auth = await token({});
    const hostile = [
      `/${table}?${encodeURIComponent(`id" = 1; delete from public.${table}; --`)}=eq.1`,
      `/${table}?id=eq.${encodeURIComponent(`1; delete from public.${table}`)}`,
      `/${table}?select=${
        encodeURIComponent(`id,name from public.${table}; delete from public.${table} --`)
      }`,
      `/${table}?order=${encodeURIComponent(`id; delete from public.${table}`)}`,
      `/${encodeURIComponent(`${table}"; delete from public.${table}; --`)}`,
      `/${table}?id=in.(${encodeURIComponent(`1) or (true`)})`,
    ];
    for (const path of hostile) {
      const answer = await rest(path, { token: auth });
      expect(answer.status, path).toBeGreaterThanOrEqual(400);
    }
    const deleted = await rest(`/${table}?name=eq.${encodeURIComponent("x' or '1'='1")}`, {
      method: "DELETE",
      token: auth,
    });
    expect(deleted.status).toBe(204);
    expect(await count()).toBe(2);
  });
});
