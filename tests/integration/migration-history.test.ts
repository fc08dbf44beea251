/**
 * The migration history stays true for deployed databases.
 *
 * `supabase db push` records each applied version in supabase_migrations.schema_migrations
 * and, on the next push, applies only the local files whose versions are not recorded; a
 * recorded version with no local file stops the push ("Remote migration versions not
 * found in local migrations directory", the CLI's `migration repair` being the way out).
 * Versions are compared by file name, never by content (supabase/cli: pkg/migration,
 * `FindPendingMigrations` and `ErrMissingLocal`; internal/migration/up/up.go,
 * `GetPendingMigrations`).
 * So a published version's file can never be removed or renamed, and what it did to a
 * database that applied it can never change.
 *
 * What may change is how a fresh database gets there: when a later migration restates a
 * function, the earlier definition is taken out of its file (CONTRIBUTING.md,
 * "Migrations"), so each function has one body in the tree. This test proves that this
 * changes no database: the files as published (read from git at PUBLISHED) and the files
 * as they are now give the same schema, fresh, and after upgrading from every published
 * version. Each database is pushed by the real CLI and compared by its whole catalog
 * (tests/support/schema-fingerprint.ts).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, prepareDatabase, repoRoot } from "../../scripts/lib/local-postgres.ts";
import { testDatabaseUrl } from "../support/context.ts";
import { schemaFingerprint } from "../support/schema-fingerprint.ts";

/**
 * The last commit before superseded definitions were first taken out of their files:
 * every migration a deployed database can have applied is in it, as it was applied.
 * When definitions are consolidated again, move this to the commit before that change.
 */
const PUBLISHED = "a89f9ce19466f78101182650528d9ef8f678168d";
const MIGRATIONS = "supabase/migrations";

function git(args: string[]): string {
  return execFileSync("git", args, { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

let admin: postgres.Sql;
let work: string;
const databases: string[] = [];
let published: string[];
let current: string[];
/** Each published file's text, read from git once. */
const publishedText = new Map<string, string>();

beforeAll(async () => {
  try {
    git(["cat-file", "-e", `${PUBLISHED}^{commit}`]);
  } catch {
    throw new Error(
      `commit ${PUBLISHED} is not in this clone: this test reads the published migrations from git history (clone without --depth)`,
    );
  }
  published = git(["ls-tree", "--name-only", `${PUBLISHED}:${MIGRATIONS}`]).split("\n")
    .filter((f) => f.endsWith(".sql")).sort();
  for (const name of published) publishedText.set(name, git(["show", `${PUBLISHED}:${MIGRATIONS}/${name}`]));
  current = (await fs.readdir(path.join(repoRoot, MIGRATIONS))).filter((f) => f.endsWith(".sql")).sort();
  admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
  work = await fs.mkdtemp(path.join(os.tmpdir(), "sg-history-"));
});

afterAll(async () => {
  for (const name of databases) await admin?.unsafe(`drop database if exists ${name} with (force)`);
  await admin?.end();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

/** A new database with the Supabase stand-in and no migrations; its URL. */
async function emptyDatabase(): Promise<string> {
  const name = `sg_history_${process.pid}_${randomBytes(4).toString("hex")}`;
  await admin.unsafe(`create database ${name}`);
  databases.push(name);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  await prepareDatabase(url.href, { migrate: false });
  return url.href;
}

/** `supabase db push` of exactly `files` to `url`: published ones as git has them, the others from the tree. */
async function push(url: string, files: { name: string; from: "published" | "current" }[]): Promise<void> {
  const dir = await fs.mkdtemp(path.join(work, "project-"));
  await fs.mkdir(path.join(dir, MIGRATIONS), { recursive: true });
  await fs.copyFile(path.join(repoRoot, "supabase", "config.toml"), path.join(dir, "supabase", "config.toml"));
  for (const { name, from } of files) {
    const text = from === "published"
      ? publishedText.get(name)!
      : await fs.readFile(path.join(repoRoot, MIGRATIONS, name), "utf8");
    await fs.writeFile(path.join(dir, MIGRATIONS, name), text);
  }
  await applyMigrations(url, { workdir: dir });
}

async function fingerprint(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await schemaFingerprint(sql);
  } finally {
    await sql.end();
  }
}

/** Runs `tasks` at most `width` at a time (each is a database and one or two CLI pushes). */
async function inBatches<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < tasks.length; i += width) {
    results.push(...await Promise.all(tasks.slice(i, i + width).map((task) => task())));
  }
  return results;
}

describe("migration history", () => {
  it("keeps every published version, under the same file name", () => {
    expect(published.length).toBeGreaterThan(10);
    expect(published.filter((f) => !current.includes(f))).toEqual([]);
  });

  it("gives a fresh database, and one upgraded from every published version, the same schema", async () => {
    const fresh = await emptyDatabase();
    await push(fresh, current.map((name) => ({ name, from: "current" as const })));
    const expected = await fingerprint(fresh);
    expect(expected.some((line) => line.includes("refresh_session"))).toBe(true);

    // From each published version k (0 = a database that never had sessionguard is the
    // fresh case above): the published files up to k, then a push of the current tree,
    // which applies only what k lacks.
    const upgrades = published.map((_, i) => async () => {
      const url = await emptyDatabase();
      const applied = published.slice(0, i + 1);
      await push(url, applied.map((name) => ({ name, from: "published" as const })));
      await push(url, current.map((name) => ({ name, from: "current" as const })));
      return { from: applied.at(-1)!, schema: await fingerprint(url) };
    });
    for (const { from, schema } of await inBatches(upgrades, 3)) {
      const missing = expected.filter((line) => !schema.includes(line));
      const extra = schema.filter((line) => !expected.includes(line));
      expect({ from, missing, extra }).toEqual({ from, missing: [], extra: [] });
    }
  }, 600_000);
});
