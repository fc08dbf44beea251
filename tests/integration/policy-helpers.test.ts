/**
 * The pgTAP helpers users include (examples/notes/supabase/tests/sessionguard_test_helpers.psql)
 * must never reach a schema a client can call: they exist only inside the test's own
 * transaction. Tried here against the real test database: run outside a transaction, run
 * and committed, and called by a client while a test that created them is still open.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createAccessTokens } from "../../functions/access-token.ts";
import { parseConfig } from "../../functions/config.ts";
import { testDatabaseUrl } from "../support/context.ts";
import { openTestDb } from "../support/database-rows.ts";
import { refreshSecret, signingJwk } from "../../scripts/lib/throwaway-keys.ts";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const helpersFile = path.join(
  root,
  "examples",
  "notes",
  "supabase",
  "tests",
  "sessionguard_test_helpers.psql",
);
const sql = openTestDb();
afterAll(() => sql.end());

/** psql on the test database with a script on stdin; its status and stderr. */
async function psql(script: string): Promise<{ code: number; stderr: string }> {
  const child = run("psql", [testDatabaseUrl(), "-qX", "-v", "ON_ERROR_STOP=1"], { cwd: root });
  child.child.stdin!.end(script);
  try {
    const { stderr } = await child;
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

async function helpersSchemaExists(): Promise<boolean> {
  const [row] = await sql`select to_regnamespace('sessionguard_test') is not null as present`;
  return row!.present;
}

describe("sessionguard pgTAP helpers never outlive the test", () => {
  it("refuse to run outside a transaction, and leave nothing", async () => {
    const result = await psql(`\\i ${helpersFile}\n`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("SAVEPOINT can only be used in transaction blocks");
    expect(await helpersSchemaExists()).toBe(false);
  });

  it("refuse to be committed, and leave nothing", async () => {
    const result = await psql(`begin;\n\\i ${helpersFile}\ncommit;\n`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("must be rolled back");
    expect(await helpersSchemaExists()).toBe(false);
  });

  it("cannot be seen or called by a client while a test that created them is open", async () => {
    const text = readFileSync(helpersFile, "utf8");
    const userId = `user_helpers_${Date.now()}`;
    await sql.begin(async (tx) => {
      await tx.unsafe(text);
      const [{ id }] = await tx`select sessionguard_test.create_session(${userId}) as id`;
      // The test's own connection has them...
      const [own] = await tx`select to_regnamespace('sessionguard_test') is not null as present`;
      expect(own!.present).toBe(true);

      // ...a client on another connection, as the Data API would connect, has not.
      const other = openTestDb();
      try {
        expect(await helpersSchemaExists()).toBe(false);
        const attempt = other.begin(async (c) => {
          await c`select set_config('role', 'authenticated', true)`;
          await c`select set_config('request.jwt.claims', ${
            JSON.stringify({ sub: userId, sid: id, role: "authenticated" })
          }, true)`;
          await c`select sessionguard_test.revoke_session(${id}::uuid)`;
        });
        await expect(attempt).rejects.toMatchObject({ code: "3F000" }); // invalid_schema_name
      } finally {
        await other.end();
      }
      throw new RollbackForTest();
    }).catch((err) => {
      if (!(err instanceof RollbackForTest)) throw err;
    });
    expect(await helpersSchemaExists()).toBe(false);
    const [session] =
      await sql`select count(*)::int as n from sessionguard.families where user_id = ${userId}`;
    expect(session!.n).toBe(0);
  });
});

describe("sessionguard pgTAP helpers act as the Data API would", () => {
  it("authenticate_as sets role authenticated and exactly the claims the session function signs", async () => {
    const issuer = "http://127.0.0.1:54321/functions/v1/session"; // the helpers' default iss
    const accessTokens = await createAccessTokens(parseConfig({
      CLERK_ISSUER: "http://127.0.0.1:9/clerk",
      SESSION_ISSUER: issuer,
      SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
      SESSION_REFRESH_SECRET: refreshSecret(),
      DATABASE_URL: testDatabaseUrl(),
    }));
    const userId = `user_claims_${Date.now()}`;
    const seen: { lifetime: number; identity: Record<string, unknown>; signed: Record<string, unknown> }[] =
      [];
    await sql.begin(async (tx) => {
      await tx.unsafe(readFileSync(helpersFile, "utf8"));
      // A long session (exp = iat + SESSION_ACCESS_TTL) and one ending sooner (exp capped).
      for (const lifetime of [2_592_000, 120]) {
        const [{ id }] = await tx`
          select sessionguard_test.create_session(${userId}, p_absolute_lifetime => ${lifetime}) as id`;
        const [{ expires_at }] = await tx`select expires_at from sessionguard.families where id = ${id}`;
        await tx`select sessionguard_test.authenticate_as(${id}::uuid)`;
        const [identity] = await tx`
          select current_user as role, auth.jwt() as claims, sessionguard.session_active() as active`;
        await tx`select sessionguard_test.clear_authentication()`;
        const claims = identity!.claims as { iat: number };
        const { claims: signed } = await accessTokens.sign({
          userId,
          sessionId: id,
          now: new Date(claims.iat * 1000),
          notAfter: expires_at,
        });
        seen.push({ lifetime, identity: identity!, signed: { ...signed } });
      }
      const [cleared] = await tx`select current_user as role, auth.jwt() as claims`;
      expect(cleared).toEqual({ role: "postgres", claims: null });
      throw new RollbackForTest();
    }).catch((err) => {
      if (!(err instanceof RollbackForTest)) throw err;
    });
    expect(seen).toHaveLength(2);
    for (const { identity, signed } of seen) {
      expect(identity.role).toBe("authenticated");
      expect(identity.active).toBe(true);
      expect(identity.claims).toEqual(signed);
    }
    const short = seen[1]!.signed as { iat: number; exp: number };
    expect(short.exp - short.iat).toBeLessThanOrEqual(120);
  });
});

class RollbackForTest extends Error {}
