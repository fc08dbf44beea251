/**
 * The policy tests shown in README.md and examples/notes/README.md are the pattern users
 * copy, so they must run: each is executed with psql, as pg_prove would, on the test
 * database with pgTAP and the notes table created in the same transaction (and rolled back
 * with it).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { testDatabaseUrl } from "../support/context.ts";
import { openTestDb } from "../support/database-rows.ts";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const example = path.join(root, "examples", "notes", "supabase");
const helpers = path.join(example, "tests", "sessionguard_test_helpers.psql");
const migration = path.join(example, "migrations", "20261130120000_create_notes.sql");
const sql = openTestDb();
afterAll(() => sql.end());

/** The first ```sql block after `heading` in a Markdown file. */
function snippet(file: string, heading: string): string {
  const text = readFileSync(path.join(root, file), "utf8");
  const from = text.indexOf(heading);
  expect(from, `${file}: ${heading}`).toBeGreaterThanOrEqual(0);
  const match = /```sql\n([\s\S]*?)```/.exec(text.slice(from));
  expect(match, `${file}: sql block after ${heading}`).not.toBeNull();
  return match![1]!;
}

/** TAP lines of the snippet run by psql in one transaction with the notes table. */
async function runSnippet(body: string, withTable: boolean): Promise<string[]> {
  // The include is relative to supabase/tests/database/ in the user's project.
  const script =
    `begin;\ncreate extension if not exists pgtap with schema extensions;\n${
      withTable ? `\\i ${migration}\n` : ""
    }` +
    body.replace(/^begin;$/m, "").replace("\\ir ../sessionguard_test_helpers.psql", `\\i ${helpers}`);
  const child = run("psql", [testDatabaseUrl(), "-qXAt", "-v", "ON_ERROR_STOP=1"], { cwd: root });
  child.child.stdin!.end(script);
  const { stdout } = await child;
  return stdout.split("\n").filter((line) => /^(not )?ok \d+|^1\.\.\d+/.test(line));
}

describe("the policy-test examples in the READMEs", () => {
  for (
    const [file, heading] of [
      ["README.md", "## Testing your own policies"],
      ["examples/notes/README.md", "## In your project"],
    ] as const
  ) {
    it(`${file}: runs, every assertion passes, and nothing is left behind`, async () => {
      const [before] = await sql`select to_regclass('public.notes') is null as no_table`;
      const tap = await runSnippet(snippet(file, heading), before!.no_table);
      const plan = Number(/^1\.\.(\d+)$/.exec(tap[0] ?? "")?.[1]);
      expect(plan).toBeGreaterThan(0);
      expect(tap.slice(1)).toEqual(tap.slice(1).filter((line) => line.startsWith("ok ")));
      expect(tap.length - 1).toBe(plan);
      const [left] = await sql`
        select to_regclass('public.notes') is null as no_table,
               to_regnamespace('sessionguard_test') is null as no_helpers`;
      expect(left).toEqual({ no_table: before!.no_table, no_helpers: true });
    });
  }
});
