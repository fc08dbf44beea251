/**
 * `supabase functions deploy` resolves the bare imports of functions/ through
 * supabase/functions/session/import_map.json (`import_map` in config.toml; not a
 * deno.json, which local Deno would pick up and fetch from npm instead of using
 * node_modules); locally they come from node_modules.
 * Both must name the same versions, and every bare import must be mapped.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

describe("deploy import map", () => {
  it("maps every bare import of the session function to the version package.json pins", () => {
    const map: Record<string, string> =
      JSON.parse(read("supabase/functions/session/import_map.json")).imports;
    const pkg = JSON.parse(read("package.json"));
    const pinned = { ...pkg.dependencies, ...pkg.devDependencies };
    const files = [
      "access-token",
      "clerk",
      "config",
      "errors",
      "handler",
      "refresh-token",
      "request",
      "store",
      "theft-response",
      "clerk-api",
      "security-webhook",
      "webhook-secret",
    ];
    expect(readdirSync(new URL("functions/", root))).toEqual(
      expect.arrayContaining(files.map((f) => `${f}.ts`)),
    );
    const bare = new Set<string>();
    for (const file of files) {
      for (const [, specifier] of read(`functions/${file}.ts`).matchAll(/from "([^".][^"]*)"/g)) {
        bare.add(specifier);
      }
    }
    expect([...bare].sort()).toEqual(Object.keys(map).sort());
    for (const [name, target] of Object.entries(map)) expect(target).toBe(`npm:${name}@${pinned[name]}`);
  });
});
