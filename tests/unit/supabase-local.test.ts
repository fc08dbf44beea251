/**
 * SG_SUPABASE_LOCAL=1 without Docker: the wiring from `supabase status -o json` (the
 * names supabase/cli internal/status/status.go prints) to the stack's settings, the
 * functions' settings (HS256 with the local JWT secret, the development issuer still on),
 * and the gateway passing `/rest/v1` on to the real PostgREST unchanged (here an HTTP
 * server standing where `supabase start`'s gateway would be).
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../functions/config.ts";
import { mountDataApi } from "../../dev/data-api/mount.ts";
import { generateKeys } from "../../scripts/stack/keys.ts";
import { functionSettings, stackUrls } from "../../scripts/stack/settings.ts";
import {
  parseSupabaseStatus,
  SUPABASE_LOCAL_PORT,
  supabaseLocalSettings,
} from "../../scripts/stack/supabase-local.ts";

/** What `supabase status -o json` prints on a default project (values as the CLI's defaults). */
const STATUS = JSON.stringify({
  API_URL: "http://127.0.0.1:54321",
  DB_URL: "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
  GRAPHQL_URL: "http://127.0.0.1:54321/graphql/v1",
  JWT_SECRET: "super-secret-jwt-token-with-at-least-32-characters-long",
  ANON_KEY: "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.x",
  PUBLISHABLE_KEY: "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH",
  SERVICE_ROLE_KEY: "eyJ...",
});

describe("supabase status to stack settings", () => {
  it("reads the API, database, JWT secret and key", () => {
    expect(parseSupabaseStatus(STATUS)).toEqual({
      apiUrl: "http://127.0.0.1:54321",
      dbUrl: "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
      jwtSecret: "super-secret-jwt-token-with-at-least-32-characters-long",
      apiKey: "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH",
    });
    const older = JSON.parse(STATUS);
    delete older.PUBLISHABLE_KEY;
    expect(parseSupabaseStatus(JSON.stringify(older)).apiKey).toBe(older.ANON_KEY);
  });

  it("refuses an answer without what it needs, naming it", () => {
    expect(() => parseSupabaseStatus("not json")).toThrow(/supabase start/);
    expect(() => parseSupabaseStatus(JSON.stringify({ DB_URL: "postgresql://x", PUBLISHABLE_KEY: "k" })))
      .toThrow(/API_URL/);
  });

  it("points the stack at supabase start, keeping what the user set", () => {
    const local = parseSupabaseStatus(STATUS);
    const settings = supabaseLocalSettings(local, { SG_SUPABASE_LOCAL: "1" });
    expect(settings).toMatchObject({
      DATABASE_URL: local.dbUrl,
      SG_PORT: String(SUPABASE_LOCAL_PORT),
      SG_DATA_API_UPSTREAM: "http://127.0.0.1:54321/rest/v1",
      SG_SUPABASE_JWT_SECRET: local.jwtSecret,
    });
    const mine = supabaseLocalSettings(local, {
      SG_PORT: "6000",
      DATABASE_URL: "postgresql://me@127.0.0.1/db",
    });
    expect([mine.SG_PORT, mine.DATABASE_URL]).toEqual(["6000", "postgresql://me@127.0.0.1/db"]);
  });

  it("signs HS256 with the local JWT secret, with the development issuer still on", () => {
    const local = parseSupabaseStatus(STATUS);
    const settings = supabaseLocalSettings(local, {});
    const urls = stackUrls(SUPABASE_LOCAL_PORT);
    const { env, devIssuer } = functionSettings(settings, generateKeys(), urls, settings.DATABASE_URL!);
    expect(devIssuer).toBe(true);
    expect(env.SESSION_JWT_SECRET).toBe(local.jwtSecret);
    expect(env).not.toHaveProperty("SESSION_SIGNING_JWK");
    const config = parseConfig(env);
    expect(config.jwtSecret).toBe(local.jwtSecret);
    expect(env.CLERK_ISSUER).toBe(`http://127.0.0.1:${SUPABASE_LOCAL_PORT}/dev/clerk`);
    // A secret the user brings still turns the development issuer off (dev/loopback.ts rule).
    expect(() =>
      functionSettings(
        { ...settings, SESSION_JWT_SECRET: "x".repeat(40) },
        generateKeys(),
        urls,
        settings.DATABASE_URL!,
      )
    )
      .toThrow(/SESSION_JWT_SECRET is set/);
  });
});

describe("the gateway's /rest/v1 with SG_DATA_API_UPSTREAM", () => {
  let upstream: Server;
  let upstreamUrl: string;
  const seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(req.method === "POST" ? 201 : 200, {
          "content-type": "application/json",
          "content-range": "0-0/*",
        });
        res.end('[{"id":1}]');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => upstream.close(resolve)));

  it("passes requests on unchanged (path, query, method, headers, body) and answers what came back", async () => {
    const api = await mountDataApi({ SG_DATA_API_UPSTREAM: `${upstreamUrl}/rest/v1/` }, () => {});
    expect(api).not.toBeNull();
    const read = await api!.handle(
      new Request("http://127.0.0.1:54331/rest/v1/notes?select=id&id=eq.1", {
        headers: { apikey: "k", authorization: "Bearer t", prefer: "count=exact" },
      }),
    );
    expect(read!.status).toBe(200);
    expect(read!.headers.get("content-range")).toBe("0-0/*");
    expect(await read!.json()).toEqual([{ id: 1 }]);
    const write = await api!.handle(
      new Request("http://127.0.0.1:54331/rest/v1/notes", {
        method: "POST",
        body: '{"body":"x"}',
        headers: { apikey: "k" },
      }),
    );
    expect(write!.status).toBe(201);
    expect(seen.map((r) => [r.method, r.url, r.body])).toEqual([
      ["GET", "/rest/v1/notes?select=id&id=eq.1", ""],
      ["POST", "/rest/v1/notes", '{"body":"x"}'],
    ]);
    expect(seen[0]!.headers).toMatchObject({ apikey: "k", authorization: "Bearer t", prefer: "count=exact" });
    expect(await api!.handle(new Request("http://127.0.0.1:54331/functions/v1/session"))).toBeNull();
  });

  it("serves nothing with SG_DATA_API=off", async () => {
    expect(await mountDataApi({ SG_DATA_API: "off" }, () => {})).toBeNull();
  });
});
