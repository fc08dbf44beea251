/**
 * The examples' tables in the local stack's database, so the notes example (and
 * supabase-js against `/rest/v1`) works after `npm start` with no other command.
 *
 * Each migration in examples/notes/supabase/migrations is applied once, in its own
 * transaction, when the table it creates is missing; SG_EXAMPLE_TABLES=0 skips them.
 * They are not part of supabase/migrations: a deployment never gets them.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import postgres from "postgres";

/** The migrations and the table each creates (checked before applying it). */
export async function exampleMigrations(root: string): Promise<Array<{ file: string; table: string }>> {
  const dir = path.join(root, "examples", "notes", "supabase", "migrations");
  const files = (await readdir(dir)).filter((file) => file.endsWith(".sql")).sort();
  const migrations = [];
  for (const file of files) {
    const text = await readFile(path.join(dir, file), "utf8");
    const table = /create table (public\.[a-z_][a-z0-9_]*)/i.exec(text)?.[1];
    if (!table) {
      throw new Error(`examples/notes/supabase/migrations/${file}: no "create table public.<name>" found`);
    }
    migrations.push({ file: path.join(dir, file), table });
  }
  return migrations;
}

/** Applies the missing ones; returns the tables it created. */
export async function applyExampleTables(root: string, databaseUrl: string): Promise<string[]> {
  const created: string[] = [];
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    for (const { file, table } of await exampleMigrations(root)) {
      await sql.begin(async (tx) => {
        // Two stacks on one DATABASE_URL: the second waits, then finds the table.
        await tx`select pg_catalog.pg_advisory_xact_lock(hashtext('sessionguard example tables'))`;
        const [row] = await tx`select pg_catalog.to_regclass(${table}) is null as missing`;
        if (!row!.missing) return;
        await tx.unsafe(await readFile(file, "utf8"));
        created.push(table);
      });
    }
  } finally {
    await sql.end();
  }
  return created;
}
