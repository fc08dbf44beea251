/**
 * Hostile input against every route of the real function (P10, P12): huge and
 * repeated headers, deep JSON, wrong encodings, unicode, SQL metacharacters,
 * `alg: none`, `kid` path tricks, HS/RS confusion and a Clerk key set full of
 * odd keys. Each request must get its documented 4xx — a code of SPEC's closed
 * set with its status, or, for what Deno's HTTP server refuses before the
 * function sees it, that server's own 4xx — the process must keep serving
 * after every batch, and the database must be exactly as it was.
 *
 * Three instances of the function run on a database of this file's own (so
 * that a checksum of every table means something while other files run):
 * Clerk keys from the odd key set with ES256 access tokens; a pinned Clerk PEM
 * key with HS256 access tokens; and a key set URL that serves garbage.
 */
import { randomBytes, randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../../functions/errors.ts";
import { type Database, startDatabase } from "../../../scripts/lib/local-postgres.ts";
import { refreshSecret, signingJwk } from "../../../scripts/lib/throwaway-keys.ts";
import { type SessionServer, startSessionServer } from "../../../scripts/lib/session-server.ts";
import {
  clerkClaims,
  handmadeToken,
  type OddIssuer,
  type Signer,
  startOddIssuer,
} from "../../support/reliability/odd-issuer.ts";
import { rawRequest } from "../../support/reliability/raw-http.ts";
import { SPEC_STATUS } from "../../support/spec.ts";

const APP = "http://localhost:3000";
const ISSUER = "http://localhost:54321/functions/v1/session";
/** SPEC's codes and statuses, but for server_error: none of these inputs may cause one. */
const STATUS: Record<string, number> = Object.fromEntries(
  Object.entries(SPEC_STATUS).filter(([code]) => code !== "server_error"),
);

/** What came back, reduced to what the contract speaks of. */
interface Seen {
  status: number;
  code: string | null;
  wwwAuthenticate: string | null;
  json: boolean;
}

/** One hostile request and the answer SPEC documents for it. */
interface Case {
  name: string;
  send: () => Promise<Seen>;
  /** An error code of SPEC's set, or `http:<status>` for a refusal by Deno's HTTP server itself. */
  expect: string;
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString("base64url");

function seenFromText(status: number, headers: (name: string) => string | null, text: string): Seen {
  let code: string | null = null;
  let json = false;
  try {
    const body = JSON.parse(text);
    json = true;
    if (typeof body?.error === "string") code = body.error;
  } catch { /* not JSON */ }
  return { status, code, wwwAuthenticate: headers("www-authenticate"), json };
}

describe.skipIf(!!process.env.DATABASE_URL)("fuzz: hostile input on every route", () => {
  let db: Database;
  let sql: postgres.Sql;
  let issuer: OddIssuer;
  let jwksServer: SessionServer; // odd JWKS, ES256 access tokens
  let pemServer: SessionServer; // pinned PEM, HS256 access tokens
  let garbageServer: SessionServer; // JWKS URL serving garbage
  let jwtSecret: string;
  let victim: { access_token: string; refresh_token: string; session: { id: string }; user_id: string };
  let pemVictim: { access_token: string; refresh_token: string; session: { id: string }; user_id: string };
  let accessKid: string;
  let accessPublicJwk: Record<string, string>;
  let before: Record<string, string>;
  const mismatches: string[] = [];
  let sent = 0;

  const snapshot = async (): Promise<Record<string, string>> => {
    // Every table of the schema, except the rate-limit counters, which count refused requests by design.
    const tables = await sql<{ table_name: string }[]>`
      select table_name from information_schema.tables
      where table_schema = 'sessionguard' and table_type = 'BASE TABLE' and table_name <> 'rate_limits'
      order by table_name`;
    const result: Record<string, string> = {};
    for (const { table_name } of tables) {
      const [row] = await sql.unsafe(
        `select count(*)::int as n, md5(coalesce(string_agg(t::text, ',' order by t::text), '')) as sum
         from sessionguard.${table_name} t`,
      );
      result[table_name] = `${row.n} rows, md5 ${row.sum}`;
    }
    return result;
  };

  beforeAll(async () => {
    db = await startDatabase({ version: 17, name: "fuzz", ephemeral: true });
    sql = postgres(db.url, { max: 2, onnotice: () => {} });
    issuer = await startOddIssuer();
    jwtSecret = randomBytes(32).toString("base64url");
    const common = {
      CLERK_ISSUER: issuer.issuer,
      CLERK_AUTHORIZED_PARTIES: APP,
      SESSION_ISSUER: ISSUER,
      SESSION_REFRESH_SECRET: refreshSecret(),
      SESSION_RATE_LIMITS: "off",
      DATABASE_URL: db.url,
    };
    [jwksServer, pemServer, garbageServer] = await Promise.all([
      startSessionServer({
        ...common,
        CLERK_JWKS_URL: issuer.jwksUrl,
        SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
      }),
      startSessionServer({
        ...common,
        CLERK_JWT_KEY: issuer.keys.realPublicPem,
        SESSION_JWT_SECRET: jwtSecret,
      }),
      startSessionServer({
        ...common,
        CLERK_JWKS_URL: issuer.garbageJwksUrl,
        SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
      }),
    ]);
    // The real key still works through a key set full of odd keys, and through the pinned PEM.
    const startWith = async (server: SessionServer) => {
      const token = handmadeToken({ kid: "real", typ: "JWT" }, clerkClaims(issuer.issuer, APP), {
        alg: "RS256",
        key: issuer.keys.real,
      });
      const response = await fetch(`${server.url}/start`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      return await response.json();
    };
    victim = await startWith(jwksServer);
    pemVictim = await startWith(pemServer);
    const jwks = await (await fetch(`${jwksServer.url}/.well-known/jwks.json`)).json();
    accessPublicJwk = jwks.keys[0];
    accessKid = accessPublicJwk.kid;
    before = await snapshot();
  }, 90_000);

  afterAll(async () => {
    await Promise.allSettled([jwksServer?.stop(), pemServer?.stop(), garbageServer?.stop()]);
    await Promise.allSettled([issuer?.stop(), sql?.end({ timeout: 5 })]);
    await db?.stop();
  });

  // --- ways to send ------------------------------------------------------------------------

  const viaFetch = (server: () => SessionServer, path: string, init: RequestInit = {}) => async () => {
    const response = await fetch(server().url + path, init);
    return seenFromText(response.status, (name) => response.headers.get(name), await response.text());
  };
  const viaRaw = (server: () => SessionServer, head: string, body: Uint8Array | string = "") => async () => {
    const answer = await rawRequest(server().origin, head, body);
    return seenFromText(answer.status, (name) => answer.headers[name] ?? null, answer.body);
  };
  const jwks = () => jwksServer;
  const pem = () => pemServer;
  const garbage = () => garbageServer;
  const json = { "content-type": "application/json" };
  const refreshBody = (token: unknown) => JSON.stringify({ refresh_token: token });
  const refresh = (token: unknown, headers: Record<string, string> = {}, server = jwks) =>
    viaFetch(server, "/refresh", {
      method: "POST",
      headers: { ...json, ...headers },
      body: refreshBody(token),
    });
  const bearer = (path: string, token: string, method = "GET", server = jwks) =>
    viaFetch(server, path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(method === "POST" ? json : {}) },
      body: method === "POST" ? "{}" : undefined,
    });
  /** Every route that takes an access token, with this token. */
  const everyAccessRoute = (name: string, token: string, server = jwks): Case[] => [
    {
      name: `${name}: GET /sessions`,
      send: bearer("/sessions", token, "GET", server),
      expect: "invalid_token",
    },
    { name: `${name}: GET /events`, send: bearer("/events", token, "GET", server), expect: "invalid_token" },
    {
      name: `${name}: POST /signout`,
      send: bearer("/signout", token, "POST", server),
      expect: "invalid_token",
    },
    {
      name: `${name}: DELETE /sessions/<victim>`,
      send: bearer(
        `/sessions/${server === jwks ? victim.session.id : pemVictim.session.id}`,
        token,
        "DELETE",
        server,
      ),
      expect: "invalid_token",
    },
  ];
  const startWithToken = (token: string, server = jwks) =>
    viaFetch(server, "/start", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, ...json },
      body: JSON.stringify({ device_name: "fuzz" }),
    });

  /** Runs a batch at once, records every mismatch, then checks the process still serves. */
  async function batch(cases: Case[]) {
    sent += cases.length;
    const results = await Promise.all(cases.map(async (c) => {
      try {
        return { c, seen: await c.send() };
      } catch (error) {
        return { c, seen: null, error: String(error) };
      }
    }));
    const wrong: string[] = [];
    for (const { c, seen, error } of results as { c: Case; seen: Seen | null; error?: string }[]) {
      const problem = judge(c, seen, error);
      if (problem) wrong.push(`${c.name}: ${problem}`);
    }
    mismatches.push(...wrong);
    expect(wrong).toEqual([]);
    for (const server of [jwksServer, pemServer, garbageServer]) {
      const health = await fetch(`${server.url}/.well-known/jwks.json`);
      expect(health.status).toBe(200);
      await health.body?.cancel();
    }
    // The database is still reachable through the function: the victim lists its sessions.
    const listed = await fetch(`${jwksServer.url}/sessions`, {
      headers: { authorization: `Bearer ${victim.access_token}` },
    });
    expect(listed.status).toBe(200);
    await listed.body?.cancel();
  }

  function judge(c: Case, seen: Seen | null, error?: string): string | null {
    if (seen === null) return `no answer (${error})`;
    if (c.expect.startsWith("http:")) {
      const status = Number(c.expect.slice(5));
      return seen.status === status ? null : `expected HTTP ${status}, got ${seen.status} ${seen.code}`;
    }
    if (seen.code !== c.expect || seen.status !== STATUS[c.expect]) {
      return `expected ${STATUS[c.expect]} ${c.expect}, got ${seen.status} ${seen.code}`;
    }
    if (!ERROR_CODES.includes(seen.code as never) || !seen.json) return "not an error of SPEC's set";
    if (seen.status === 401 && !seen.wwwAuthenticate?.includes(`error="${seen.code}"`)) {
      return "401 without its WWW-Authenticate challenge";
    }
    return null;
  }

  // --- the batches -------------------------------------------------------------------------

  it("huge and repeated headers", async () => {
    const junk = "x".repeat(60_000);
    const manyHeaders: Record<string, string> = {};
    for (let i = 0; i < 100; i++) manyHeaders[`x-fuzz-${i}`] = `${i}`.repeat(50);
    const tooManyHeaders: Record<string, string> = {};
    for (let i = 0; i < 300; i++) tooManyHeaders[`x-fuzz-${i}`] = "1";
    const path = "/functions/v1/session";
    const body = refreshBody("garbage");
    const length = `Content-Length: ${body.length}`;
    await batch([
      {
        name: "60 kB bearer on /sessions",
        send: bearer("/sessions", "a".repeat(60_000)),
        expect: "invalid_token",
      },
      { name: "60 kB bearer on /start", send: startWithToken("a".repeat(60_000)), expect: "invalid_token" },
      {
        name: "60 kB user agent",
        send: refresh("garbage", { "user-agent": junk }),
        expect: "invalid_refresh_token",
      },
      {
        name: "60 kB x-forwarded-for",
        send: refresh("garbage", { "x-forwarded-for": "1.1.1.1,".repeat(7_500) }),
        expect: "invalid_refresh_token",
      },
      { name: "100 extra headers", send: refresh("garbage", manyHeaders), expect: "invalid_refresh_token" },
      {
        name: "300 extra headers (beyond the HTTP server's limit)",
        send: refresh("garbage", tooManyHeaders),
        expect: "http:400",
      },
      {
        name: "two Authorization headers",
        send: viaRaw(
          jwks,
          `GET ${path}/sessions HTTP/1.1\nAuthorization: Bearer ${victim.access_token}\nAuthorization: Bearer x`,
        ),
        expect: "invalid_token",
      },
      {
        name: "100 x-forwarded-for headers",
        send: viaRaw(
          jwks,
          `POST ${path}/refresh HTTP/1.1\nContent-Type: application/json\n${length}\n` +
            "X-Forwarded-For: 203.0.113.1\n".repeat(100),
          body,
        ),
        expect: "invalid_refresh_token",
      },
      {
        name: "two Content-Type headers",
        send: viaRaw(
          jwks,
          `POST ${path}/refresh HTTP/1.1\nContent-Type: application/json\nContent-Type: text/plain\n${length}`,
          body,
        ),
        expect: "unsupported_media_type",
      },
      {
        name: "two different Content-Length headers (smuggling)",
        send: viaRaw(
          jwks,
          `POST ${path}/refresh HTTP/1.1\nContent-Type: application/json\n${length}\nContent-Length: 5`,
          body,
        ),
        expect: "http:400",
      },
      {
        name: "Content-Length and chunked together (smuggling)",
        send: viaRaw(
          jwks,
          `POST ${path}/refresh HTTP/1.1\nContent-Type: application/json\nContent-Length: 4\nTransfer-Encoding: chunked`,
          `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        ),
        expect: "http:400",
      },
      {
        name: "chunked body",
        send: viaRaw(
          jwks,
          `POST ${path}/refresh HTTP/1.1\nContent-Type: application/json\nTransfer-Encoding: chunked`,
          `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        ),
        expect: "invalid_refresh_token",
      },
      {
        name: "1 MB header (beyond the HTTP server's limit)",
        send: viaRaw(jwks, `GET ${path}/sessions HTTP/1.1\nX-Big: ${"y".repeat(1_000_000)}`),
        expect: "http:400",
      },
      {
        name: "100 kB path (beyond the HTTP server's limit)",
        send: viaFetch(jwks, `/sessions/${"a".repeat(100_000)}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${victim.access_token}` },
        }),
        expect: "http:400",
      },
      {
        name: "60 kB path",
        send: viaFetch(jwks, `/sessions/${"a".repeat(60_000)}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${victim.access_token}` },
        }),
        expect: "not_found",
      },
    ]);
  }, 60_000);

  it("deep JSON", async () => {
    const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
    const deepObject = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
    await batch([
      {
        name: "10,000 nested arrays",
        send: viaFetch(jwks, "/refresh", { method: "POST", headers: json, body: nested(10_000) }),
        expect: "payload_too_large",
      },
      {
        name: "10,000 nested arrays as refresh_token",
        send: viaFetch(jwks, "/refresh", {
          method: "POST",
          headers: json,
          body: `{"refresh_token":${nested(10_000)}}`,
        }),
        expect: "payload_too_large",
      },
      {
        name: "4,000 nested arrays as refresh_token (under the size limit)",
        send: viaFetch(jwks, "/refresh", {
          method: "POST",
          headers: json,
          body: `{"refresh_token":${nested(4_000)}}`,
        }),
        expect: "invalid_request",
      },
      {
        name: "1,300 nested objects",
        send: viaFetch(jwks, "/refresh", { method: "POST", headers: json, body: deepObject(1_300) }),
        expect: "invalid_request",
      },
      {
        name: "deep device_name on /start with a forged Clerk token",
        send: viaFetch(jwks, "/start", {
          method: "POST",
          headers: { ...json, authorization: "Bearer a.b.c" },
          body: `{"device_name":${nested(4_000)}}`,
        }),
        expect: "invalid_request",
      },
      {
        name: "deep scope on /signout with the victim's token",
        send: viaFetch(jwks, "/signout", {
          method: "POST",
          headers: { ...json, authorization: `Bearer ${victim.access_token}` },
          body: `{"scope":${nested(4_000)}}`,
        }),
        expect: "invalid_request",
      },
      {
        name: "prototype keys",
        send: viaFetch(jwks, "/refresh", {
          method: "POST",
          headers: json,
          body: '{"__proto__":{"refresh_token":"x"},"constructor":{"prototype":{"refresh_token":"y"}}}',
        }),
        expect: "invalid_request",
      },
      {
        name: "duplicate keys, last one hostile",
        send: viaFetch(jwks, "/refresh", {
          method: "POST",
          headers: json,
          body: `{"refresh_token":${JSON.stringify(victim.refresh_token)},"refresh_token":1}`,
        }),
        expect: "invalid_request",
      },
    ]);
  });

  it("wrong encodings", async () => {
    const utf16 = (bom: number[], little: boolean) => {
      const text = refreshBody(victim.refresh_token);
      const bytes = Buffer.alloc(text.length * 2);
      for (let i = 0; i < text.length; i++) {
        if (little) bytes.writeUInt16LE(text.charCodeAt(i), i * 2);
        else bytes.writeUInt16BE(text.charCodeAt(i), i * 2);
      }
      return new Uint8Array([...bom, ...bytes]);
    };
    const bytes = (...parts: (string | number[])[]) =>
      new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p, "utf8")] : p)));
    const post = (body: Uint8Array, contentType = "application/json") =>
      viaFetch(jwks, "/refresh", {
        method: "POST",
        headers: { "content-type": contentType },
        body: new Uint8Array(body) as Uint8Array<ArrayBuffer>,
      });
    const path = "/functions/v1/session";
    await batch([
      { name: "UTF-16LE with BOM", send: post(utf16([0xff, 0xfe], true)), expect: "invalid_request" },
      { name: "UTF-16BE with BOM", send: post(utf16([0xfe, 0xff], false)), expect: "invalid_request" },
      {
        name: "UTF-16 declared in the charset",
        send: post(utf16([0xff, 0xfe], true), "application/json; charset=utf-16"),
        expect: "invalid_request",
      },
      { name: "invalid UTF-8 bytes", send: post(bytes([0xff, 0xfe, 0xfd])), expect: "invalid_request" },
      {
        name: "invalid UTF-8 inside a string",
        send: post(bytes('{"refresh_token":"', [0xc3, 0x28], '"}')),
        expect: "invalid_request",
      },
      {
        name: "overlong encoding of a quote",
        send: post(bytes('{"refresh_token":', [0xc0, 0xa2], 'x"}')),
        expect: "invalid_request",
      },
      {
        name: "UTF-8-encoded surrogate",
        send: post(bytes('{"refresh_token":"', [0xed, 0xa0, 0x80], '"}')),
        expect: "invalid_request",
      },
      {
        name: "UTF-8 BOM before a forged token (BOM ignored, token refused)",
        send: post(bytes([0xef, 0xbb, 0xbf], refreshBody("forged"))),
        expect: "invalid_refresh_token",
      },
      {
        name: "NUL bytes in the body",
        send: post(bytes('{"refresh_token":"a', [0], 'b"}')),
        expect: "invalid_request",
      },
      {
        name: "escaped NUL in the token",
        send: refresh(`${victim.refresh_token}\u0000`),
        expect: "invalid_refresh_token",
      },
      {
        name: "Latin-1 bytes in the user agent",
        send: viaRaw(
          jwks,
          `POST ${path}/refresh HTTP/1.1\nContent-Type: application/json\nContent-Length: 27\nUser-Agent: \xff\xfe\xe9t\xe9`,
          refreshBody("garbage"),
        ),
        expect: "invalid_refresh_token",
      },
      {
        name: "UTF-8 bytes in the Authorization header",
        send: viaRaw(
          jwks,
          `GET ${path}/sessions HTTP/1.1\nAuthorization: Bearer ${
            Buffer.from("ключ🔑", "utf8").toString("latin1")
          }`,
        ),
        expect: "invalid_token",
      },
      {
        name: "invalid percent-encoding in the session id",
        send: bearer("/sessions/%ff%fe%00", victim.access_token, "DELETE"),
        expect: "not_found",
      },
      {
        name: "percent-encoded slash and dots in the session id",
        send: bearer(`/sessions/..%2f..%2f${victim.session.id}`, victim.access_token, "DELETE"),
        expect: "not_found",
      },
      {
        name: "control character in a header (refused by the HTTP server)",
        send: viaRaw(jwks, `GET ${path}/sessions HTTP/1.1\nAuthorization: Bearer a\x01b`),
        expect: "http:400",
      },
    ]);
  });

  it("unicode and SQL metacharacters", async () => {
    const [kid, family, generation, mac] = victim.refresh_token.split(".");
    const tokens = [
      `${kid}.${family}.${generation}.${mac}`.replace(/\./g, "\u2024"), // one-dot leader
      `${kid}.${family}.${generation}.${mac}`.replace(/\./g, "\uff0e"), // fullwidth full stop
      `${kid}.${family}.\uff10.${mac}`, // fullwidth zero
      `${kid}.${family}.\u0660.${mac}`, // Arabic-Indic zero
      `${kid}.${family}.${generation}\u200b.${mac}`, // zero-width space
      `\u202e${victim.refresh_token}`, // right-to-left override
      `${kid}.${family.toUpperCase()}.${generation}.${mac}`,
      `${kid}.${family}.${generation}.${mac}`.normalize("NFD") + "\u0301",
      "🔑".repeat(40),
      `${kid}.${family}' or '1'='1.${generation}.${mac}`,
      `${kid}.${family}.0;drop table sessionguard.families.${mac}`,
      "'; drop table sessionguard.families; --",
      "\\x27; select pg_sleep(10); --",
      `${kid}.${family}.${generation}.${mac}' --`,
      "$$ || (select string_agg(id::text, ',') from sessionguard.families) || $$",
    ];
    const ids = [
      "' or 1=1 --",
      "1;delete from sessionguard.families",
      `${victim.session.id}' or '1'='1`,
      "\u202e" + victim.session.id,
      victim.session.id.toUpperCase(),
      `${randomUUID()}%00`,
      "%27%20or%20%271%27%3D%271",
    ];
    await batch([
      ...tokens.map((token, i): Case => ({
        name: `hostile refresh token ${i}`,
        send: refresh(token, {
          "x-forwarded-for": "1.1.1.1'; drop table x; --",
          "user-agent": "' or 1=1 --",
        }),
        expect: "invalid_refresh_token",
      })),
      ...ids.map((id, i): Case => ({
        name: `hostile session id ${i}`,
        send: bearer(`/sessions/${encodeURIComponent(id)}`, victim.access_token, "DELETE"),
        expect: "not_found",
      })),
      {
        name: "SQL in device_name with a forged Clerk token",
        send: viaFetch(jwks, "/start", {
          method: "POST",
          headers: { ...json, authorization: "Bearer a.b.c" },
          body: JSON.stringify({ device_name: "'); delete from sessionguard.families; --" }),
        }),
        expect: "invalid_token",
      },
      {
        name: "SQL in the signout scope",
        send: viaFetch(jwks, "/signout", {
          method: "POST",
          headers: { ...json, authorization: `Bearer ${victim.access_token}` },
          body: JSON.stringify({ scope: "global' or '1'='1" }),
        }),
        expect: "invalid_request",
      },
      {
        name: "SQL in the query string",
        send: bearer("/sessions/x?id=1%27%20or%201%3D1--", victim.access_token, "DELETE"),
        expect: "not_found",
      },
      { name: "unknown route with unicode", send: viaFetch(jwks, "/s\u00e9ssions"), expect: "not_found" },
      {
        name: "unknown method",
        send: viaRaw(jwks, "FROB /functions/v1/session/refresh HTTP/1.1"),
        expect: "method_not_allowed",
      },
    ]);
  });

  it("alg none, kid tricks, HS/RS confusion and odd keys in the Clerk key set", async () => {
    const claims = () => clerkClaims(issuer.issuer, APP);
    const clerk = (header: Record<string, unknown>, signer: Signer, payload = claims()) =>
      handmadeToken({ typ: "JWT", ...header }, payload, signer);
    const { keys } = issuer;
    const pemBytes = keys.realPublicPem;
    const fetchesBefore = issuer.jwksFetches();
    const clerkTokens: [string, string][] = [
      ["alg none", clerk({ kid: "real" }, { alg: "none" })],
      ["alg None", clerk({ kid: "real" }, { alg: "None" })],
      ["alg NONE without kid", clerk({}, { alg: "NONE" })],
      ["alg nOnE with a real signature appended", clerk({ kid: "real" }, { alg: "nOnE" }) + "AAAA"],
      ["HS256 keyed with the real public PEM", clerk({ kid: "real" }, { alg: "HS256", secret: pemBytes })],
      [
        "HS256 keyed with the real public JWK",
        clerk({ kid: "real" }, { alg: "HS256", secret: JSON.stringify(issuer.realPublicJwk) }),
      ],
      [
        "HS256 keyed with the modulus",
        clerk({ kid: "real" }, { alg: "HS256", secret: Buffer.from(issuer.realPublicJwk.n, "base64url") }),
      ],
      [
        "HS256 with the oct key of the key set",
        clerk({ kid: "oct" }, { alg: "HS256", secret: keys.octSecret }),
      ],
      ["PS256 with the real key", clerk({ kid: "real" }, { alg: "PS256", key: keys.real })],
      ["RS512 with the real key", clerk({ kid: "real" }, { alg: "RS512", key: keys.real })],
      ["ES256 with the EC key of the key set", clerk({ kid: "ec-key" }, { alg: "ES256", key: keys.ec })],
      [
        "RS256 by the encryption key under the real kid",
        clerk({ kid: "real" }, { alg: "RS256", key: keys.encryption }),
      ],
      [
        "RS256 by the key labelled HS256",
        clerk({ kid: "rsa-labelled-hs256" }, { alg: "RS256", key: keys.mislabelled }),
      ],
      ["RS256 by the key labelled alg none", clerk({ kid: "none-alg" }, { alg: "RS256", key: keys.noneAlg })],
      ["RS256 against the duplicate kid", clerk({ kid: "dup" }, { alg: "RS256", key: keys.mislabelled })],
      ["RS256 against the huge modulus", clerk({ kid: "huge" }, { alg: "RS256", key: keys.stranger })],
      ["RS256 against the garbage key", clerk({ kid: "garbage" }, { alg: "RS256", key: keys.stranger })],
      ["RS256 against the key without kty", clerk({ kid: "no-kty" }, { alg: "RS256", key: keys.real })],
      ["RS256 against the unknown kty", clerk({ kid: "unknown-kty" }, { alg: "RS256", key: keys.stranger })],
      ["kid ../../etc/passwd", clerk({ kid: "../../etc/passwd" }, { alg: "RS256", key: keys.stranger })],
      ["kid /etc/passwd", clerk({ kid: "/etc/passwd" }, { alg: "RS256", key: keys.stranger })],
      ["kid file URL", clerk({ kid: "file:///etc/passwd" }, { alg: "RS256", key: keys.stranger })],
      [
        "kid https URL",
        clerk({ kid: "https://evil.example/jwks.json" }, { alg: "RS256", key: keys.stranger }),
      ],
      ["kid SQL", clerk({ kid: "' or 1=1 --" }, { alg: "RS256", key: keys.stranger })],
      ["kid 10 kB", clerk({ kid: "k".repeat(10_000) }, { alg: "RS256", key: keys.stranger })],
      ["kid as a number", clerk({ kid: 1 }, { alg: "RS256", key: keys.stranger })],
      ["kid as an object", clerk({ kid: { $ne: null } }, { alg: "RS256", key: keys.stranger })],
      ["real kid, stranger's signature", clerk({ kid: "real" }, { alg: "RS256", key: keys.stranger })],
      [
        "embedded jwk header",
        clerk({
          kid: "real",
          jwk: keys.stranger.export({ format: "jwk" }),
        }, { alg: "RS256", key: keys.stranger }),
      ],
      [
        "jku header",
        clerk({ kid: "x", jku: "http://127.0.0.1:1/jwks.json" }, { alg: "RS256", key: keys.stranger }),
      ],
      ["crit header", clerk({ kid: "real", crit: ["exp"] }, { alg: "RS256", key: keys.real })],
      ["b64 false", clerk({ kid: "real", b64: false, crit: ["b64"] }, { alg: "RS256", key: keys.real })],
      [
        "issuer of another instance",
        clerk(
          { kid: "real" },
          { alg: "RS256", key: keys.real },
          clerkClaims("https://evil.clerk.accounts.dev", APP),
        ),
      ],
      [
        "azp of another app",
        clerk(
          { kid: "real" },
          { alg: "RS256", key: keys.real },
          clerkClaims(issuer.issuer, "https://evil.example"),
        ),
      ],
      ["two-part token", `${b64('{"alg":"RS256","kid":"real"}')}.${b64(JSON.stringify(claims()))}`],
      ["header not JSON", `${b64("{")}.${b64("{}")}.${b64("sig")}`],
      ["header JSON array", `${b64("[]")}.${b64("{}")}.${b64("sig")}`],
    ];
    const cases: Case[] = [];
    for (const [name, token] of clerkTokens) {
      cases.push({ name: `Clerk token, ${name}`, send: startWithToken(token), expect: "invalid_token" });
    }
    // The same against the pinned PEM key and the key set that is garbage.
    for (const [name, token] of clerkTokens.slice(0, 10)) {
      cases.push({ name: `pinned PEM, ${name}`, send: startWithToken(token, pem), expect: "invalid_token" });
    }
    const realToken = clerk({ kid: "real" }, { alg: "RS256", key: keys.real });
    cases.push({
      name: "garbage key set, real token",
      send: startWithToken(realToken, garbage),
      expect: "invalid_token",
    });

    // Access tokens: alg none, HS/ES confusion, kid tricks, on every route that takes one.
    const accessClaims = {
      iss: ISSUER,
      sub: victim.user_id,
      aud: "authenticated",
      role: "authenticated",
      sid: victim.session.id,
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 600,
    };
    const access = (header: Record<string, unknown>, signer: Signer, payload: object = accessClaims) =>
      handmadeToken({ typ: "JWT", ...header }, payload as Record<string, unknown>, signer);
    const forgedAccess: [string, string][] = [
      ["alg none", access({ kid: accessKid }, { alg: "none" })],
      [
        "HS256 keyed with the public JWK",
        access({ kid: accessKid }, { alg: "HS256", secret: JSON.stringify(accessPublicJwk) }),
      ],
      [
        "HS256 keyed with x",
        access({ kid: accessKid }, { alg: "HS256", secret: Buffer.from(accessPublicJwk.x, "base64url") }),
      ],
      ["ES256 by a stranger with the real kid", access({ kid: accessKid }, { alg: "ES256", key: keys.ec })],
      ["kid path trick", access({ kid: "../../etc/passwd" }, { alg: "ES256", key: keys.ec })],
      [
        "HS256 with the refresh token as key",
        access({ kid: accessKid }, { alg: "HS256", secret: victim.refresh_token }),
      ],
      ["a refresh token as bearer", victim.refresh_token],
    ];
    for (const [name, token] of forgedAccess) cases.push(...everyAccessRoute(`access token, ${name}`, token));
    // The HS256 instance: alg none and a guessed secret with its own kid.
    const hsKid = JSON.parse(Buffer.from(pemVictim.access_token.split(".")[0], "base64url").toString()).kid;
    const pemClaims = { ...accessClaims, sub: pemVictim.user_id, sid: pemVictim.session.id };
    cases.push(
      ...everyAccessRoute(
        "HS256 instance, alg none",
        access({ kid: hsKid }, { alg: "none" }, pemClaims),
        pem,
      ),
      ...everyAccessRoute(
        "HS256 instance, wrong secret",
        access({ kid: hsKid }, { alg: "HS256", secret: "not-the-secret".repeat(3) }, pemClaims),
        pem,
      ),
      ...everyAccessRoute(
        "HS256 instance, ES256 token of the other instance",
        victim.access_token,
        pem,
      ),
    );
    await batch(cases);
    // Unknown kids made the function refetch the key set at most once (cooldown), not per token.
    expect(issuer.jwksFetches() - fetchesBefore).toBeLessThanOrEqual(1);
  }, 60_000);

  it("changed nothing in the database, and every case got its documented answer", async () => {
    console.log(`fuzz: ${sent} hostile requests, ${mismatches.length} mismatches`);
    expect(mismatches).toEqual([]);
    expect(await snapshot()).toEqual(before);
    // The victims' sessions still work end to end.
    const rotated = await fetch(`${jwksServer.url}/refresh`, {
      method: "POST",
      headers: json,
      body: refreshBody(victim.refresh_token),
    });
    expect(rotated.status).toBe(200);
    const pemRotated = await fetch(`${pemServer.url}/refresh`, {
      method: "POST",
      headers: json,
      body: refreshBody(pemVictim.refresh_token),
    });
    expect(pemRotated.status).toBe(200);
  });
});
