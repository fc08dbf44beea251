/**
 * `supabase functions deploy` resolves the bare imports of functions/ through the
 * function's own supabase/functions/session/deno.json (picked up by the CLI; the
 * per-function import_map.json is deprecated). Locally, run from the repository root,
 * Deno uses the root deno.json and node_modules instead.
 * Both must name the same versions, and every bare import of every file the
 * entrypoint reaches must be mapped: `pkg` by "pkg", `pkg/sub` by "pkg/".
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url);
const read = (url: URL) => readFileSync(url, "utf8");
const IMPORT = /(?:from|import)\s*"([^"]+)"/g;

/** Every module the entrypoint reaches through relative imports, and the bare specifiers they use. */
function reach(entry: URL): { files: string[]; bare: Set<string> } {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file.href)) continue;
    seen.add(file.href);
    for (const [, specifier] of read(file).matchAll(IMPORT)) {
      if (specifier.startsWith(".")) queue.push(new URL(specifier, file));
      else if (!specifier.startsWith("node:")) bare.add(specifier);
    }
  }
  return { files: [...seen].map((href) => href.slice(root.href.length)), bare };
}

const packageOf = (specifier: string) =>
  specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0];

describe("deploy deno.json", () => {
  it("maps every bare import the session function reaches to the version package.json pins", () => {
    const map: Record<string, string> =
      JSON.parse(read(new URL("supabase/functions/session/deno.json", root))).imports;
    const pkg = JSON.parse(read(new URL("package.json", root)));
    const pinned = { ...pkg.dependencies, ...pkg.devDependencies };
    const { files, bare } = reach(new URL("supabase/functions/session/index.ts", root));

    expect(files).toEqual(
      expect.arrayContaining(["functions/handler.ts", "functions/store.ts", "functions/dpop.ts"]),
    );
    expect(files.some((file) => file.startsWith("dev/"))).toBe(false);
    for (const specifier of bare) {
      const name = packageOf(specifier);
      const key = specifier === name ? name : `${name}/`;
      expect(map[key], `import map entry for ${specifier}`).toBeDefined();
    }
    for (const [key, target] of Object.entries(map)) {
      const name = key.replace(/\/$/, "");
      expect(target).toBe(
        key.endsWith("/") ? `npm:/${name}@${pinned[name]}/` : `npm:${name}@${pinned[name]}`,
      );
    }
  });
});
