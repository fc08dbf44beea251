/**
 * `npm run check-deployment` (scripts/check-deployment.ts), run as a user runs it:
 * against the local stack (`npm start`) with its development issuer and database,
 * and against a real session function behind a fake Data API for each refusal the
 * check must explain: PGRST301 (key not trusted, wrong SESSION_JWT_KID), PGRST303
 * (expired beyond the skew; never blamed on SESSION_ISSUER), role missing, a policy
 * on `auth.uid()` (22P02), and the sessionguard schema exposed. What cannot be reached
 * (database, function, Data API) is reported as unreachable, never as wrong, and
 * secrets come from a file or standard input, never the command line.
 */
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import type { JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../scripts/lib/ports.ts";
import { call } from "../../support/api.ts";
import { type Stack, startStack } from "../../support/stack.ts";
import {
  killLeftovers,
  launch,
  type Launched,
  removeStackData,
  root,
  uniqueName,
} from "../../support/npm-start.ts";
import { type FakeDataApi, startFakeDataApi } from "../../support/platform/fake-data-api.ts";
import { signingJwk } from "../../../scripts/lib/throwaway-keys.ts";
import {
  importedKeyProject,
  legacyProject,
  migratedLegacyProject,
} from "../../support/platform/verifiers/project.ts";

interface Run {
  readonly code: number;
  readonly output: string;
}

/** Runs the check as `npm run check-deployment -- ...` would (tsx, from the repository root). */
function check(args: string[], stdin = ""): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", "scripts/check-deployment.ts", ...args],
      { cwd: root, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1" } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
    child.stdin!.end(stdin);
  });
}

/** A file (mode 600) holding `secret`, as a user would write one. */
function secretFile(secret: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "sg-check-")), "secret");
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return file;
}

/** A session function whose issuer is its own URL, as a deployment's is. */
async function sessionFunction(settings: Record<string, string | undefined> = {}): Promise<Stack> {
  const port = await freePort();
  return await startStack({
    PORT: String(port),
    SESSION_ISSUER: `http://127.0.0.1:${port}/functions/v1/session`,
    ...settings,
  });
}

describe("against the local stack", () => {
  let stack: Launched;
  const name = uniqueName("check");

  beforeAll(async () => {
    stack = await launch({ name });
    await stack.ready;
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    killLeftovers();
    await removeStackData(name);
  }, 60_000);

  it("passes the function and database checks, signing in with a development-issuer token", async () => {
    const token = (await call(stack.origin, "/dev/clerk-token?user=check")).body.token as string;
    const databaseUrl = /Database\s+(postgresql:\/\/\S+)/.exec(stack.output())![1]!;
    const run = await check(
      ["--url", stack.origin, "--clerk-token-file", "-", "--db-url-file", secretFile(databaseUrl)],
      token,
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/✔ database connection: 127\.0\.0\.1:\d+/);
    expect(run.output).toMatch(/✔ no internal function callable by anon or authenticated: only the \d+/);
    expect(run.output).toContain("✔ discovery document");
    expect(run.output).toContain("✔ JWKS is public only");
    expect(run.output).toMatch(/✔ sign-in \(\/start\): ES256 token with kid local-/);
    expect(run.output).toContain("✔ token verifies against the published JWKS");
    expect(run.output).toMatch(/✔ migrations applied: (\d+) of \1/);
    expect(run.output).toContain("✔ table grants");
    expect(run.output).toContain("– Data API accepts the access token: no --apikey");
    // The local stack's kid (local-…) could not be imported as a signing key: said, not failed.
    expect(run.output).toMatch(/! kid importable as a signing key: kid local-/);
    expect(run.output).toMatch(/\d+ passed, 0 failed, 2 skipped, 1 warning\(s\)$/m);
  }, 60_000);

  it("fails, with exit status 1, when the function is not there", async () => {
    const run = await check([
      "--url",
      stack.origin,
      "--function-url",
      `${stack.origin}/functions/v1/nothing`,
    ]);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/✘ discovery document: .* answered 404/);
    expect(run.output).toContain("fix: the local stack serves the function at");
    expect(run.output).not.toContain("supabase functions deploy");
  }, 60_000);

  it("says a local function it cannot reach is unreachable, not undeployed", async () => {
    const port = await freePort();
    const run = await check(["--url", `http://127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.output).toContain(
      `✘ discovery document: cannot reach http://127.0.0.1:${port}/functions/v1/session`,
    );
    expect(run.output).toContain("(ECONNREFUSED)");
    expect(run.output).toContain(
      `fix: nothing listens at http://127.0.0.1:${port}: start the local stack (npm start`,
    );
    expect(run.output).not.toContain("supabase functions deploy");
  }, 60_000);

  it(
    "says a database it cannot reach is unreachable, not missing its migrations, and never prints the password",
    async () => {
      const port = await freePort();
      const password = "Pw0-never-printed";
      const run = await check([
        "--url",
        stack.origin,
        "--db-url-file",
        secretFile(`postgresql://postgres:${password}@127.0.0.1:${port}/postgres`),
      ]);
      expect(run.code).toBe(1);
      expect(run.output).toContain(`✘ database connection: cannot reach 127.0.0.1:${port} (ECONNREFUSED)`);
      expect(run.output).toContain("fix: nothing listens there");
      expect(run.output).toContain("– migrations and grants: no database session");
      expect(run.output).not.toContain("migrations applied");
      expect(run.output).not.toContain("supabase db push");
      expect(run.output).not.toContain(password);
    },
    60_000,
  );

  it("tells a wrong password apart from an unreachable database", async () => {
    const databaseUrl = /Database\s+(postgresql:\/\/\S+)/.exec(stack.output())![1]!;
    const url = new URL(databaseUrl);
    url.password = "Pw0-wrong-password";
    const run = await check(["--url", stack.origin, "--db-url-file", "-"], url.href);
    expect(run.code).toBe(1);
    // The local stack's servers ask for a password (scripts/lib/postgres-servers.ts).
    expect(run.output).toMatch(/✘ database connection: 127\.0\.0\.1:\d+ refused the login \(28P01\)/);
    expect(run.output).toContain("fix: the password is wrong");
    expect(run.output).not.toContain("migrations applied");
    expect(run.output).not.toContain("Pw0-wrong-password");
  }, 60_000);

  it("reports a grant on an internal function beyond the documented ones", async () => {
    const databaseUrl = /Database\s+(postgresql:\/\/\S+)/.exec(stack.output())![1]!;
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    const internal = "sessionguard.purge_expired(timestamptz, interval, integer, interval)";
    try {
      await sql.unsafe(`grant execute on function ${internal} to authenticated`);
      const run = await check(["--url", stack.origin, "--db-url-file", secretFile(databaseUrl)]);
      expect(run.code).toBe(1);
      expect(run.output).toMatch(
        /✘ no internal function callable by anon or authenticated: sessionguard\.purge_expired\([^)]*\) \(authenticated\)/,
      );
      expect(run.output).toContain("fix: revoke execute on function <each> from public, anon, authenticated");
      expect(run.output).toContain("sessionguard.session_active()"); // the documented ones are named
    } finally {
      await sql.unsafe(`revoke execute on function ${internal} from authenticated`);
      await sql.end({ timeout: 5 });
    }
  }, 60_000);

  it("takes no secret on the command line", async () => {
    for (
      const args of [["--clerk-token", "eyJ.secret.token"], ["--db-url", "postgresql://u:pw@h/db"], [
        "--clerk-token=eyJ.secret.token",
      ]]
    ) {
      const run = await check(["--url", stack.origin, ...args]);
      expect(run.code, run.output).toBe(2);
      expect(run.output).toMatch(
        /is not taken on the command line \(it holds a secret\): use --(clerk-token|db-url)-file/,
      );
    }
    const both = await check(["--url", stack.origin, "--clerk-token-file", "-", "--db-url-file", "-"]);
    expect(both.code).toBe(2);
    const empty = await check(["--url", stack.origin, "--clerk-token-file", "-"], "  \n");
    expect(empty.code).toBe(2);
    expect(empty.output).toContain("--clerk-token-file: standard input is empty");
  }, 60_000);

  it("refuses bad usage with exit status 2", async () => {
    expect((await check([])).code).toBe(2);
    expect((await check(["--url", "not a url"])).code).toBe(2);
    expect((await check(["--url", stack.origin, "--bogus"])).code).toBe(2);
  }, 60_000);
});

describe("against a fake Data API", () => {
  const SECRET = randomBytes(30).toString("base64url");
  const LEGACY_KID = randomUUID();
  let es: Stack;
  let published: JWK[];
  const fakes: FakeDataApi[] = [];

  beforeAll(async () => {
    es = await sessionFunction();
    published = (await es.call("/.well-known/jwks.json")).body.keys;
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled([es?.stop(), ...fakes.map((fake) => fake.stop())]);
  });

  async function run(stack: Stack, fake: Parameters<typeof startFakeDataApi>[0], extra: string[] = []) {
    const api = await startFakeDataApi(fake);
    fakes.push(api);
    const result = await check([
      "--url",
      api.origin,
      "--function-url",
      stack.server.url,
      "--apikey",
      "sb_publishable_test",
      "--clerk-token-file",
      "-",
      ...extra,
    ], await stack.clerk.token());
    return { ...result, api };
  }

  it("accepted, and the schema is hidden: exit 0", async () => {
    const { code, output, api } = await run(es, {
      postgrest: importedKeyProject(SECRET, LEGACY_KID, published).postgrest,
    });
    expect(code, output).toBe(0);
    expect(output).toContain("✔ Data API accepts the access token: accepted");
    expect(output).toContain("✔ sessionguard schema is not exposed: 406 PGRST106");
    expect(api.seen.some((line) => line.startsWith("GET /rest/v1/sessionguard_deployment_check"))).toBe(true);
  }, 60_000);

  it("queries --table as the token's role", async () => {
    const { code, output } = await run(
      es,
      { postgrest: importedKeyProject(SECRET, LEGACY_KID, published).postgrest, relations: ["notes"] },
      ["--table", "notes"],
    );
    expect(code, output).toBe(0);
    expect(output).toContain(
      "✔ Data API accepts the access token: 200 from notes, queried as the token's role",
    );
  }, 60_000);

  it("PGRST301 when the project does not trust the ES256 key, with the fix", async () => {
    const { code, output } = await run(es, { postgrest: legacyProject(SECRET).postgrest });
    expect(code).toBe(1);
    expect(output).toMatch(
      /✘ Data API accepts the access token: 401 PGRST301: .*ES256 token \(kid k[0-9a-f]+\)/,
    );
    expect(output).toContain("fix: make the project trust the key: import SESSION_SIGNING_JWK");
  }, 60_000);

  it("PGRST301 when SESSION_JWT_KID is not the project's id for its legacy secret", async () => {
    const port = await freePort();
    const hs = await startStack({
      PORT: String(port),
      SESSION_ISSUER: `http://127.0.0.1:${port}/functions/v1/session`,
      SESSION_SIGNING_JWK: undefined,
      SESSION_JWT_SECRET: SECRET,
      SESSION_JWT_KID: "not-the-dashboard-id",
    });
    try {
      const { code, output } = await run(hs, {
        postgrest: migratedLegacyProject(SECRET, LEGACY_KID, published[0]!).postgrest,
      });
      expect(code).toBe(1);
      expect(output).toContain("401 PGRST301");
      expect(output).toContain("fix: SESSION_JWT_KID (not-the-dashboard-id) is not the id the project shows");
    } finally {
      await hs.stop();
    }
  }, 60_000);

  it("PGRST303 when the token is expired beyond the skew by the Data API's clock", async () => {
    const { code, output } = await run(es, {
      postgrest: importedKeyProject(SECRET, LEGACY_KID, published).postgrest,
      clockAhead: 600 + 31,
    });
    expect(code).toBe(1);
    expect(output).toContain("✘ Data API accepts the access token: 401 PGRST303: JWTExpired");
    // PostgREST never reads iss: the fix must not send the user to SESSION_ISSUER.
    expect(output).toContain("PostgREST never checks iss, so SESSION_ISSUER is not the cause");
  }, 60_000);

  it("names auth.uid() when a policy on --table casts the Clerk user id to uuid (22P02)", async () => {
    const { code, output } = await run(
      es,
      {
        postgrest: importedKeyProject(SECRET, LEGACY_KID, published).postgrest,
        relations: ["notes"],
        uidPolicies: ["notes"],
      },
      ["--table", "notes"],
    );
    expect(code).toBe(1);
    expect(output).toMatch(
      /✘ Data API accepts the access token: 400 22P02: invalid input syntax for type uuid: "user_/,
    );
    expect(output).toContain("as auth.uid() does");
    expect(output).toContain("(select sessionguard.user_id())");
    expect(output).not.toContain("check that notes exists");
  }, 60_000);

  it("warns that a kid which is not a UUID cannot be imported as a signing key (path A)", async () => {
    const { output } = await run(es, {
      postgrest: importedKeyProject(SECRET, LEGACY_KID, published).postgrest,
    });
    expect(output).toMatch(/! kid importable as a signing key: kid k[0-9a-f]+ is not a UUID/);
    expect(output).toContain("a custom OIDC provider (path B) takes any kid");
    expect(output).toMatch(/, 1 warning\(s\)$/m);
    const uuid = await sessionFunction({
      SESSION_SIGNING_JWK: JSON.stringify(await signingJwk(randomUUID())),
    });
    try {
      const accepted = await run(uuid, {
        postgrest:
          importedKeyProject(SECRET, LEGACY_KID, (await uuid.call("/.well-known/jwks.json")).body.keys)
            .postgrest,
      });
      expect(accepted.code, accepted.output).toBe(0);
      expect(accepted.output).not.toContain("kid importable");
      expect(accepted.output).not.toContain("warning");
    } finally {
      await uuid.stop();
    }
  }, 120_000);

  it("role missing when the database lacks the token's role", async () => {
    const { code, output } = await run(es, {
      postgrest: importedKeyProject(SECRET, LEGACY_KID, published).postgrest,
      roles: ["anon"],
    });
    expect(code).toBe(1);
    expect(output).toContain(
      '✘ Data API accepts the access token: role missing: role "authenticated" does not exist',
    );
  }, 60_000);

  it("fails when the sessionguard schema is exposed", async () => {
    const { code, output } = await run(es, {
      postgrest: importedKeyProject(SECRET, LEGACY_KID, published).postgrest,
      exposed: ["public", "graphql_public", "sessionguard"],
    });
    expect(code).toBe(1);
    expect(output).toContain("✘ sessionguard schema is not exposed");
    expect(output).toContain("fix: remove sessionguard from Exposed schemas");
  }, 60_000);
});
