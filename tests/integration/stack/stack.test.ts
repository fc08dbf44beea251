/**
 * `npm start` as a newcomer runs it: the real start script, embedded Postgres, the
 * Deno gateway and the local development issuer, each test stack with its own data
 * name and port. Exercised over HTTP only, then stopped and checked for leftovers.
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { Webhook } from "svix";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { portFree } from "../../../scripts/lib/ports.ts";
import { call } from "../../support/api.ts";
import { type ClerkIssuer, startClerkIssuer } from "../../../scripts/lib/clerk-issuer.ts";
import {
  isRunning,
  killLeftovers,
  launch,
  type Launched,
  localDir,
  processesMentioning,
  removeStackData,
  root,
  stackKeys,
  uniqueName,
} from "../../support/npm-start.ts";

const LABEL = "LOCAL DEVELOPMENT ISSUER — not Clerk";
const names: string[] = [];
let main: Launched;
let api: string;

/** A Clerk token from the stack's development issuer. */
async function devToken(origin: string, query = ""): Promise<string> {
  const answer = await call(origin, `/dev/clerk-token${query}`);
  expect(answer.status).toBe(200);
  return answer.body.token as string;
}

/** Signs in through /start with a fresh demo user. */
async function signIn(origin: string, query = `?user=u${Math.random().toString(36).slice(2, 10)}`) {
  const answer = await call(`${origin}/functions/v1/session`, "/start", {
    method: "POST",
    token: await devToken(origin, query),
    json: { device_name: "test device" },
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as {
    access_token: string;
    refresh_token: string;
    expires_in: number;
    session: { id: string };
  };
}

/** Polls `check` until it holds; fails after `attempts` tries (not a timing assertion). */
async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  attempts = 200,
): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never happened: ${what}`);
}

beforeAll(async () => {
  const name = uniqueName("main");
  names.push(name);
  // A .env-style file, and one setting it also names given in the environment.
  const envFile = path.join(localDir, `stack-${name}`, "test.env");
  await mkdir(path.dirname(envFile), { recursive: true });
  await writeFile(
    envFile,
    "# test settings\nALLOWED_ORIGINS=https://app.example.test\nSESSION_ACCESS_TTL=111\n",
  );
  main = await launch({ name, env: { SG_ENV_FILE: envFile, SESSION_ACCESS_TTL: "321" } });
  await main.ready;
  api = `${main.origin}/functions/v1/session`;
}, 120_000);

afterAll(async () => {
  killLeftovers();
  for (const name of names) await removeStackData(name);
}, 60_000);

describe("npm start with the local development issuer", () => {
  it("prints the URLs, the database and where the keys are, but no secret", async () => {
    const out = main.output();
    for (
      const url of [
        `${main.origin}/`,
        api,
        `${api}/.well-known/jwks.json`,
        `${api}/.well-known/openid-configuration`,
      ]
    ) {
      expect(out).toContain(url);
    }
    expect(out).toMatch(/Database\s+postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres/);
    expect(out).toContain(`.local/stack-${main.name}/keys.json`);
    expect(out).toContain(LABEL);
    expect(out).toContain("CLERK_ISSUER=https://");
    expect(out).toContain("CLERK_AUTHORIZED_PARTIES=");
    const keys = await stackKeys(main.name);
    const secrets = [
      keys.session_refresh_secret as string,
      keys.clerk_webhook_secret,
      (keys.session_signing_jwk as { d: string }).d,
      (keys.dev_clerk as { private_jwk: { d: string } }).private_jwk.d,
    ];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(20);
      expect(out).not.toContain(secret);
    }
  });

  it("issues Clerk-shaped tokens that verify against the development issuer's JWKS", async () => {
    const token = await devToken(main.origin, "?user=alice&sid=sess_known1");
    const jwks = await call(main.origin, "/dev/clerk/.well-known/jwks.json");
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toHaveLength(1);
    expect(jwks.body.keys[0]).not.toHaveProperty("d");
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks.body), {
      issuer: `${main.origin}/dev/clerk`,
      algorithms: ["RS256"],
    });
    expect(protectedHeader.kid).toBe(jwks.body.keys[0].kid);
    expect(payload).toMatchObject({
      sub: "user_demo_alice",
      sid: "sess_known1",
      azp: main.origin,
      sts: "active",
      v: 2,
    });
    expect(payload.nbf).toBe(payload.iat! - 10);
    expect(payload.exp).toBe(payload.iat! + 60);
    expect(decodeJwt(await devToken(main.origin)).sub).toBe("user_demo");

    const bad = await call(main.origin, "/dev/clerk-token?user=" + encodeURIComponent("a b"));
    expect(bad.status).toBe(400);
    expect((await call(main.origin, "/dev/clerk-token", { method: "POST" })).status).toBe(405);
    expect((await call(main.origin, "/dev/nothing-here")).status).toBe(404);
  });

  it("runs start, refresh and sessions through the gateway, with settings from the environment over .env", async () => {
    const started = await signIn(main.origin);
    expect(started.expires_in).toBe(321); // environment 321 wins over .env 111
    const refreshed = await call(api, "/refresh", { json: { refresh_token: started.refresh_token } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(started.refresh_token);
    const sessions = await call(api, "/sessions", { token: refreshed.body.access_token });
    expect(sessions.status).toBe(200);
    expect(sessions.body.sessions).toEqual([
      expect.objectContaining({
        id: started.session.id,
        device_name: "test device",
        current: true,
        ip: "127.0.0.1",
      }),
    ]);

    // The access token verifies against the function's published JWKS.
    const jwks = await call(api, "/.well-known/jwks.json");
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys.length).toBeGreaterThan(0);
    for (const key of jwks.body.keys) expect(key).not.toHaveProperty("d");
    const { payload } = await jwtVerify(refreshed.body.access_token, createLocalJWKSet(jwks.body), {
      issuer: api,
      audience: "authenticated",
    });
    expect(payload.sid).toBe(started.session.id);
    const openid = await call(api, "/.well-known/openid-configuration");
    expect(openid.body).toMatchObject({ issuer: api, jwks_uri: `${api}/.well-known/jwks.json` });
  });

  it("passes .env settings on to the function (ALLOWED_ORIGINS)", async () => {
    const preflight = (origin: string) =>
      fetch(`${api}/refresh`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" },
      });
    const allowed = await preflight("https://app.example.test");
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.test");
    const other = await preflight("https://elsewhere.example.test");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("serves the devices page at / and answers 404 for unknown functions", async () => {
    const page = await fetch(`${main.origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/<html/i);
    expect((await call(main.origin, "/functions/v1/nothing-here")).status).toBe(404);
    expect((await call(main.origin, "/no-such-page.html")).status).toBe(404);
  });

  it("mounts clerk-webhook with the generated secret: a signed session.ended revokes the session", async () => {
    const sid = `sess_webhook${Math.random().toString(36).slice(2, 10)}`;
    const started = await signIn(main.origin, `?user=hook${sid.slice(-6)}&sid=${sid}`);
    const { clerk_webhook_secret: secret } = await stackKeys(main.name);
    const body = JSON.stringify({ object: "event", type: "session.ended", data: { id: sid, user_id: "x" } });
    const deliver = (signature: string, id: string) =>
      call(main.origin, "/functions/v1/clerk-webhook", {
        raw: body,
        headers: {
          "content-type": "application/json",
          "svix-id": id,
          "svix-timestamp": String(Math.floor(Date.now() / 1000)),
          "svix-signature": signature,
        },
        method: "POST",
      });
    const id = `msg_${sid}`;
    const forged = await deliver("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", `${id}x`);
    expect(forged.status).toBe(401);
    expect((await call(api, "/refresh", { json: { refresh_token: started.refresh_token } })).status).toBe(
      200,
    );

    const signed = await deliver(new Webhook(secret).sign(id, new Date(), body), id);
    expect(signed.status, JSON.stringify(signed.body)).toBe(200);
    const sessions = await call(api, "/sessions", { token: started.access_token });
    expect(sessions.body.error).toBe("session_revoked");
  });

  it("npm run demo walks through rotation and theft detection against the running stack", async () => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !/^(CLERK_|SESSION_|SG_|DATABASE_URL$)/.test(key)) env[key] = value;
    }
    env.SG_URL = main.origin;
    const child = spawn("npm", ["run", "--silent", "demo"], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (out += chunk));
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    expect(code, out).toBe(0);
    expect(out).toContain(`sessionguard demo against ${api}`);
    expect(out).toContain(LABEL);
    expect(out).toMatch(/POST \/refresh with #1 → 401 refresh_token_reused: theft detected/);
    expect(out).toMatch(/POST \/refresh with #3 .* → 401 session_revoked/);
    expect(out).toMatch(/refresh_token_reused\s+A .*/);
    expect(out).toContain("Demo complete");
    expect(out).not.toContain("UNEXPECTED");
    expect(out).not.toContain("starting one for this demo"); // it used the running stack
  }, 60_000);
});

describe("npm start with a Clerk instance and DATABASE_URL", () => {
  let clerk: ClerkIssuer;
  let other: Launched;

  beforeAll(async () => {
    clerk = await startClerkIssuer("http://localhost:3000");
    const databaseUrl = /Database\s+(postgresql:\/\/\S+)/.exec(main.output())![1]!;
    const name = uniqueName("clerk");
    names.push(name);
    other = await launch({
      name,
      env: {
        CLERK_ISSUER: clerk.issuer,
        CLERK_AUTHORIZED_PARTIES: "http://localhost:3000",
        DATABASE_URL: databaseUrl,
      },
    });
    await other.ready;
  }, 120_000);

  afterAll(async () => {
    await other?.stop();
    await clerk?.stop();
  });

  it("turns the development issuer off: /dev/* answers 404 and its tokens are refused", async () => {
    expect(other.output()).not.toContain(LABEL);
    expect(other.output()).toContain(clerk.issuer);
    for (const route of ["/dev/clerk-token", "/dev/clerk/.well-known/jwks.json", "/dev/clerk"]) {
      expect((await call(other.origin, route)).status, route).toBe(404);
    }
    // A correctly signed token of the first stack's development issuer is not trusted here.
    const devIssued = await call(`${other.origin}/functions/v1/session`, "/start", {
      method: "POST",
      token: await devToken(main.origin),
      json: {},
    });
    expect(devIssued.status).toBe(401);
    expect(devIssued.body.error).toBe("invalid_token");
  });

  it("accepts tokens of the configured Clerk issuer", async () => {
    const started = await call(`${other.origin}/functions/v1/session`, "/start", {
      method: "POST",
      token: await clerk.token(),
      json: {},
    });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
  });

  it("uses DATABASE_URL without starting or stopping a server of its own", async () => {
    const run = await other.runFile();
    expect(run.postgres_pid).toBeNull();
    expect(other.output()).toMatch(/Database\s+postgresql:\/\/postgres:\*\*\*@/);
    expect(await other.stop()).toBe(0);
    // The first stack's database still answers.
    const started = await signIn(main.origin);
    expect(started.refresh_token).toBeTruthy();
  });
});

describe("stopping and restarting", () => {
  it("SIGTERM stops the gateway and Postgres and frees the port", async () => {
    const run = await main.runFile();
    expect(run.pid).toBe(main.child.pid);
    expect(isRunning(run.gateway_pid)).toBe(true);
    expect(isRunning(run.postgres_pid!)).toBe(true);

    expect(await main.stop("SIGTERM")).toBe(0);
    expect(main.output()).toContain("sessionguard: stopped");
    expect(isRunning(run.gateway_pid)).toBe(false);
    expect(isRunning(run.postgres_pid!)).toBe(false);
    expect(processesMentioning(`pg17-${main.name}`)).toEqual([]);
    expect(await portFree(main.port)).toBe(true);
    await expect(main.runFile()).rejects.toThrow();
  });

  it("keeps data and keys across a restart, and --reset starts with an empty database", async () => {
    const again = await launch({ name: main.name, port: main.port });
    await again.ready;
    expect(again.output()).toContain(`reused .local/stack-${main.name}/keys.json`);
    const started = await signIn(again.origin);
    expect(await again.stop()).toBe(0);

    const restarted = await launch({ name: main.name, port: main.port });
    await restarted.ready;
    const refreshed = await call(`${restarted.origin}/functions/v1/session`, "/refresh", {
      json: { refresh_token: started.refresh_token },
    });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect(await restarted.stop()).toBe(0);

    const reset = await launch({ name: main.name, port: main.port, args: ["--reset"] });
    await reset.ready;
    expect(reset.output()).toContain(`reused .local/stack-${main.name}/keys.json`);
    const gone = await call(`${reset.origin}/functions/v1/session`, "/refresh", {
      json: { refresh_token: refreshed.body.refresh_token },
    });
    expect(gone.status).toBe(401);
    expect(gone.body.error).toBe("invalid_refresh_token");
    expect(await reset.stop("SIGINT")).toBe(0);
    expect(await portFree(main.port)).toBe(true);
  }, 120_000);

  it(
    "a migration history the files no longer have: start-up says to --reset, and --reset works",
    async () => {
      const name = uniqueName("stale");
      names.push(name);
      const first = await launch({ name });
      await first.ready;
      // What a database made by an older checkout looks like: a migration version applied
      // that supabase/migrations no longer has.
      const databaseUrl = /Database\s+(postgresql:\/\/\S+)/.exec(first.output())![1]!;
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      try {
        await sql`insert into supabase_migrations.schema_migrations (version, name, statements)
        values ('20261126000150', 'from_an_older_checkout', '{}')`;
      } finally {
        await sql.end({ timeout: 5 });
      }
      expect(await first.stop()).toBe(0);

      const stale = await launch({ name, port: first.port });
      expect(await stale.exited).toBe(1);
      expect(stale.output()).toContain("supabase db push failed");
      expect(stale.output()).toContain("npm start -- --reset");
      expect(processesMentioning(`pg17-${name}`)).toEqual([]);

      const reset = await launch({ name, port: first.port, args: ["--reset"] });
      await reset.ready;
      expect(await reset.stop()).toBe(0);
    },
    120_000,
  );

  it("a bad setting stops start-up with its name and leaves nothing running", async () => {
    const name = uniqueName("bad");
    names.push(name);
    const bad = await launch({ name, env: { SESSION_REUSE_GRACE: "99" } });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain("SESSION_REUSE_GRACE");
    expect(bad.output()).toContain("could not start");
    expect(processesMentioning(`pg17-${name}`)).toEqual([]);
    expect(await portFree(bad.port)).toBe(true);
  }, 60_000);

  it("a killed stack's gateway exits by itself, and the next start stops its orphaned Postgres", async () => {
    const name = uniqueName("kill");
    names.push(name);
    const first = await launch({ name });
    await first.ready;
    const run = await first.runFile();
    expect(await first.stop("SIGKILL")).toBe(128 + 9);
    await eventually(() => !isRunning(run.gateway_pid), "the gateway exits when its parent dies");
    await eventually(() => portFree(first.port), "the gateway's port is freed");
    expect(isRunning(run.postgres_pid!)).toBe(true); // Postgres cannot notice; the next start does

    const second = await launch({ name, port: first.port });
    await second.ready;
    expect(second.output()).toContain(`stopping PostgreSQL (pid ${run.postgres_pid}) left running`);
    expect(isRunning(run.postgres_pid!)).toBe(false);
    expect((await signIn(second.origin)).refresh_token).toBeTruthy();
    expect(await second.stop()).toBe(0);
    expect(processesMentioning(`pg17-${name}`)).toEqual([]);
  }, 120_000);
});
