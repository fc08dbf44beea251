/**
 * `npm run check-deployment -- --lint --db-url-file <file>` run as a user runs it, against the
 * test database: a planted policy that does not ask for a live session fails the check
 * with its lint code and fix; once the policy asks, the check passes.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { testDatabaseUrl } from "../../support/context.ts";

const schema = `sg_lint_cli_${randomBytes(4).toString("hex")}`;
let sql: postgres.Sql;

function check(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "scripts/check-deployment.ts", ...args], {
      timeout: 60_000,
    }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
        output: stdout + stderr,
      });
    });
  });
}

beforeAll(async () => {
  sql = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
  await sql.unsafe(`
    create schema ${schema};
    create table ${schema}.docs (id int, owner_id text);
    alter table ${schema}.docs enable row level security;
    create policy docs_read on ${schema}.docs for select to authenticated
      using (owner_id = (select sessionguard.user_id()));`);
});

afterAll(async () => {
  await sql?.unsafe(`drop schema if exists ${schema} cascade`);
  await sql?.end();
});

it(
  "fails on a policy that does not ask for a live session, with its code and fix, and passes once it asks",
  async () => {
    // The connection string from a file, never argv (it holds the password).
    const file = path.join(mkdtempSync(path.join(tmpdir(), "sg-lint-")), "db-url");
    writeFileSync(file, testDatabaseUrl(), { mode: 0o600 });
    const args = ["--lint", "--db-url-file", file, "--exposed-schemas", schema];
    const open = await check(args);
    expect(open.code, open.output).toBe(1);
    expect(open.output).toContain(`✘ SG001 policy_without_session_check: ${schema}.docs policy docs_read`);
    expect(open.output).toContain("fix: Add `and (select sessionguard.session_active())`");
    expect(open.output).not.toContain(":postgres@"); // the password is not printed

    await sql.unsafe(`
    alter policy docs_read on ${schema}.docs
      using (owner_id = (select sessionguard.user_id()) and (select sessionguard.session_active()))`);
    const closed = await check(args);
    expect(closed.output).not.toContain("SG001");
    expect(closed.output).toContain("✔ lint: no surface left open");
    expect(closed.code, closed.output).toBe(0);
  },
  120_000,
);

it("--lint without --db-url-file is a usage error", async () => {
  const run = await check(["--lint"]);
  expect(run.code).toBe(2);
  expect(run.output).toContain("--lint needs --db-url-file");
}, 60_000);
