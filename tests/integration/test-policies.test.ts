/**
 * `npm run test:policies` on a project shaped like a user's: a folder outside this
 * repository with its own migration and pgTAP tests, run the way the README says
 * (`npm --prefix <clone> run test:policies` from the project), with no database named and
 * no step by hand. It must start a throwaway server of its own, apply sessionguard's
 * migrations and the project's, pass the test of a policy that checks the session, fail
 * the test of a policy that forgot to (so the run can fail), and remove the server after.
 * Refusals (a migration that would shadow one of sessionguard's, an unreachable named
 * database) come before any server is started.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const HELPERS = path.join(ROOT, "examples", "notes", "supabase", "tests", "sessionguard_test_helpers.psql");
const projects: string[] = [];
afterAll(() => {
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
});

/** A user's project: supabase/migrations and supabase/tests/database, nothing of this repository's but the helpers. */
function userProject(migrations: Record<string, string>, tests: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sg-user-project-"));
  projects.push(dir);
  mkdirSync(path.join(dir, "supabase", "migrations"), { recursive: true });
  mkdirSync(path.join(dir, "supabase", "tests", "database"), { recursive: true });
  copyFileSync(HELPERS, path.join(dir, "supabase", "tests", "sessionguard_test_helpers.psql"));
  for (const [name, sql] of Object.entries(migrations)) writeFileSync(path.join(dir, "supabase", "migrations", name), sql);
  for (const [name, sql] of Object.entries(tests)) writeFileSync(path.join(dir, "supabase", "tests", "database", name), sql);
  return dir;
}

/** `npm --prefix <repo> run test:policies -- ...args` from `cwd`, as a user runs it from their project. */
function testPolicies(cwd: string, args: string[] = []): Promise<{ code: number | null; output: string }> {
  const env = { ...process.env };
  delete env.DATABASE_URL; // nothing named unless the test names it
  delete env.SG_DB_URL;
  const child = spawn("npm", ["--prefix", ROOT, "run", "--silent", "test:policies", "--", ...args], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, output })));
}

const TODOS = `
create table public.todos (id bigint generated always as identity primary key, owner_id text not null, title text not null);
alter table public.todos enable row level security;
grant select on public.todos to authenticated;
create policy "own todos, live session" on public.todos for select to authenticated
  using (owner_id = (select sessionguard.user_id()) and (select sessionguard.session_active()));

-- This policy forgot the session check: its test below must fail.
create table public.diary (id bigint generated always as identity primary key, owner_id text not null, body text not null);
alter table public.diary enable row level security;
grant select on public.diary to authenticated;
create policy "own entries" on public.diary for select to authenticated
  using (owner_id = (select sessionguard.user_id()));
`;

/** A pgTAP test of `table`: a live session sees its row, a revoked one none. */
const revocationTest = (table: string) => `
begin;
\\ir ../sessionguard_test_helpers.psql
select plan(2);
insert into public.${table} (owner_id, ${table === "todos" ? "title" : "body"}) values ('user_ada', 'x');
select sessionguard_test.create_session('user_ada') as ada \\gset
select sessionguard_test.authenticate_as(:'ada');
select is((select count(*)::int from public.${table}), 1, 'a live session sees its ${table}');
select sessionguard_test.revoke_session(:'ada');
select is((select count(*)::int from public.${table}), 0, 'a revoked session sees no ${table}');
select * from finish();
rollback;
`;

describe("npm run test:policies on a user's project", () => {
  it("starts its own database, applies the project's migration, passes a sound policy and fails a leaky one", async () => {
    const project = userProject(
      { "20270101000000_todos_and_diary.sql": TODOS },
      { "todos.test.sql": revocationTest("todos"), "diary.test.sql": revocationTest("diary") },
    );
    const { code, output } = await testPolicies(project);
    expect(output).toContain("no database named (--db-url or DATABASE_URL): starting a throwaway PostgreSQL 17");
    expect(output).toContain(`1 of ${path.join(project, "supabase", "migrations")}`);
    expect(output).toMatch(/todos\.test\.sql \.+ ok/);
    expect(output).toMatch(/diary\.test\.sql \(Wstat: \d+ Tests: 2 Failed: 1\)/);
    expect(output).toContain("not ok 2 - a revoked session sees no diary");
    expect(output).not.toMatch(/todos\.test\.sql \(Wstat/);
    expect(code).not.toBe(0);

    // The throwaway server is gone afterwards.
    const port = Number(/pg_prove on postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:(\d+)\//.exec(output)?.[1]);
    expect(port).toBeGreaterThan(0);
    const reachable = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => (socket.destroy(), resolve(true)));
      socket.on("error", () => resolve(false));
    });
    expect(reachable).toBe(false);
  }, 300_000);

  it("refuses a migration that shares a version with one of sessionguard's, before starting anything", async () => {
    const project = userProject({ "20261126000100_my_tables.sql": "create table public.t (id int);" }, {
      "t.test.sql": "select plan(0);",
    });
    const { code, output } = await testPolicies(project);
    expect(code).toBe(2);
    expect(output).toContain("has the version 20261126000100 of sessionguard's 20261126000100_tables.sql: rename it");
    expect(output).not.toContain("starting a throwaway");
  }, 60_000);

  it("uses a named database only, and says so when it cannot reach it", async () => {
    const project = userProject({}, { "t.test.sql": "select plan(0);" });
    const { code, output } = await testPolicies(project, ["--db-url", "postgresql://postgres:secret@127.0.0.1:1/postgres"]);
    expect(code).toBe(2);
    expect(output).toContain("cannot reach the database at postgresql://postgres:***@127.0.0.1:1/postgres");
    expect(output).not.toContain("secret");
    expect(output).not.toContain("starting a throwaway");
  }, 60_000);
});
