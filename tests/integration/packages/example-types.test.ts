/**
 * The React example (and the Clerk glue fixture of the browser tests) and, through their
 * imports, the sources of both packages type-check (tsc, strict, JSX):
 * examples/react-vite/tsconfig.json maps @sessionguard/* to the sources.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

for (const project of ["examples/react-vite", "tests/browser/clerk-glue"]) {
  it(`${project} type-checks with the package sources`, () => {
    const result = spawnSync(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-p", project], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  }, 120_000);
}
