/**
 * The examples' tables in the local stack's database, so the notes example (and
 * supabase-js against `/rest/v1`) works after `npm start` with no other command.
 *
 * Each migration in examples/notes/supabase/migrations is applied once, in its own
 * transaction, when what it makes is missing: the table it creates, or else the first
 * column it adds to an existing table. SG_EXAMPLE_TABLES=0 skips them.
 * They are not part of supabase/migrations: a deployment never gets them.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import postgres from "postgres";

/** The migrations, the table each creates or alters, and the column it adds (checked before applying it). */
export async function exampleMigrations(
  root: string,
): Promise<Array<{ file: string; table: string; column: string | null }>> {
  const dir = path.join(root, "examples", "notes", "supabase", "migrations");
  const files = (await readdir(dir)).filter((file) => file.endsWith(".sql")).sort();
  const migrations = [];
  for (const file of files) {
    const text = await readFile(path.join(dir, file), "utf8");
    const created = /create table (public\.[a-z_][a-z0-9_]*)/i.exec(text);
    const altered = created
      ? null
      : /alter table (public\.[a-z_][a-z0-9_]*)\s+add column ([a-z_][a-z0-9_]*)/i.exec(text);
    const table = created?.[1] ?? altered?.[1];
    if (!table) {
      throw new Error(
        `examples/notes/supabase/migrations/${file}: no "create table public.<name>" or "alter table public.<name> add column" found`,
      );
    }
    migrations.push({ file: path.join(dir, file), table, column: altered?.[2] ?? null });
  }
  return migrations;
}

/** Applies the missing ones; returns the tables it created. */
export async function applyExampleTables(root: string, databaseUrl: string): Promise<string[]> {
  const created: string[] = [];
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    for (const { file, table, column } of await exampleMigrations(root)) {
      await sql.begin(async (tx) => {
        // Two stacks on one DATABASE_URL: the second waits, then finds the table.
        await tx`select pg_catalog.pg_advisory_xact_lock(hashtext('sessionguard example tables'))`;
        const [row] = column === null
          ? await tx`select pg_catalog.to_regclass(${table}) is null as missing`
          : await tx`select not exists (select from pg_catalog.pg_attribute
                       where attrelid = pg_catalog.to_regclass(${table}) and attname = ${column}
                         and not attisdropped) as missing`;
        if (!row!.missing) return;
        await tx.unsafe(await readFile(file, "utf8"));
        created.push(column === null ? table : `${table}.${column}`);
      });
    }
  } finally {
    await sql.end();
  }
  return created;
}
