/**
 * `npm run check-deployment` (scripts/check-deployment.ts), run as a user runs it:
 * against the local stack (`npm start`) with its development issuer and database,
 * and against a real session function behind a fake Data API for each refusal the
 * check must explain: PGRST301 (key not trusted, wrong SESSION_JWT_KID), PGRST303
 * (expired beyond the skew), role missing, and the sessionguard schema exposed.
 */
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
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
function check(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "scripts/check-deployment.ts", ...args],
      { cwd: root, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1" } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
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
    const run = await check(["--url", stack.origin, "--clerk-token", token, "--db-url", databaseUrl]);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain("✔ discovery document");
    expect(run.output).toContain("✔ JWKS is public only");
    expect(run.output).toMatch(/✔ sign-in \(\/start\): ES256 token with kid local-/);
    expect(run.output).toContain("✔ token verifies against the published JWKS");
    expect(run.output).toMatch(/✔ migrations applied: (\d+) of \1/);
    expect(run.output).toContain("✔ table grants");
    expect(run.output).toContain("– Data API accepts the access token: no --apikey");
    expect(run.output).toMatch(/\d+ passed, 0 failed, 2 skipped$/m);
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
      "--clerk-token",
      await stack.clerk.token(),
      ...extra,
    ]);
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
  }, 60_000);

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
