/**
 * `supabase functions deploy clerk-webhook` resolves the function's bare
 * imports through its own supabase/functions/clerk-webhook/deno.json; locally
 * they come from node_modules. Every bare import reachable from the entrypoint
 * must be mapped, to the version package.json pins.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const read = (file: string) => readFileSync(path.join(root, file), "utf8");

/** Bare specifiers imported by `entry` and every local module it reaches. */
function bareImports(entry: string): Set<string> {
  const bare = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, specifier] of read(file).matchAll(/(?:from|import) "([^"]+)"/g)) {
      if (specifier.startsWith(".")) visit(path.join(path.dirname(file), specifier));
      else if (!specifier.startsWith("node:")) bare.add(specifier);
    }
  };
  visit(entry);
  return bare;
}

describe("clerk-webhook deploy import map", () => {
  it("maps every bare import of the function to the version package.json pins", () => {
    const map: Record<string, string> =
      JSON.parse(read("supabase/functions/clerk-webhook/deno.json")).imports;
    const pkg = JSON.parse(read("package.json"));
    const pinned = { ...pkg.dependencies, ...pkg.devDependencies };
    const bare = bareImports("supabase/functions/clerk-webhook/index.ts");
    expect(bare.has("standardwebhooks")).toBe(true);
    expect([...bare].sort()).toEqual(Object.keys(map).sort());
    for (const [name, target] of Object.entries(map)) expect(target).toBe(`npm:${name}@${pinned[name]}`);
    const lock = JSON.parse(read("supabase/functions/clerk-webhook/deno.lock"));
    expect(Object.keys(lock.specifiers).sort()).toEqual(Object.values(map).sort());
  });
});
