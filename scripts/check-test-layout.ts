/**
 * Keeps the tests' layout (README, "Tests"): run by `npm test`'s typecheck-and-lint
 * suite, it prints every offence and exits non-zero when there is one.
 *
 *  1. Nothing outside tests/ imports tests/: tooling (`npm start`, soak, bench, the
 *     scripts) shares code with the tests through scripts/lib/ and its own folders, never
 *     the other way round.
 *  2. Every test file sits on one axis: tests/unit, tests/integration, tests/browser or
 *     tests/property; tests/support holds what they share and no test of its own; nothing
 *     else lives directly under tests/.
 *
 *   tsx scripts/check-test-layout.ts
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TESTS = path.join(root, "tests");
const AXES = ["unit", "integration", "browser", "property"];
const SUPPORT = "support";
const SKIP = new Set(["node_modules", ".git", ".local", "test-results"]);
const SOURCE = /\.(?:[cm]?[jt]s|tsx|jsx)$/;
/** Static imports and re-exports (`from "x"`, `import "x"`) and dynamic `import("x")`. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'`]([^"'`]+)["'`]/g;

/** Every file under `dir` (repository-relative paths), skipping dependencies and local state. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [path.relative(root, full)];
  });
}

/** Where `file` imports something under tests/: `file: specifier` for each such import. */
function importsOfTests(file: string): string[] {
  const text = readFileSync(path.join(root, file), "utf8");
  return [...text.matchAll(SPECIFIER)]
    .map((match) => match[1]!)
    .filter((specifier) => {
      const target = specifier.startsWith(".")
        ? path.resolve(root, path.dirname(file), specifier)
        : path.resolve(root, specifier);
      return target === TESTS || target.startsWith(TESTS + path.sep);
    })
    .map((specifier) => `${file}: imports ${specifier}`);
}

/** Test files off the four axes, tests inside the support folder, strays under tests/. */
function layoutOffences(testFiles: readonly string[]): string[] {
  const offences: string[] = [];
  for (const file of testFiles) {
    const [, top, ...rest] = file.split(path.sep);
    if (rest.length === 0) {
      offences.push(`${file}: directly under tests/ (use tests/<axis>/ or tests/${SUPPORT}/)`);
    } else if (top === SUPPORT) {
      if (/\.test\.[cm]?[jt]sx?$/.test(file)) offences.push(`${file}: a test inside tests/${SUPPORT}/`);
    } else if (!AXES.includes(top!)) {
      offences.push(`${file}: tests/${top}/ is not one of ${AXES.map((a) => `tests/${a}/`).join(", ")}`);
    }
  }
  return offences;
}

const files = walk(root);
const outside = files.filter((file) => SOURCE.test(file) && !file.startsWith(`tests${path.sep}`));
const offences = [
  ...outside.flatMap(importsOfTests),
  ...layoutOffences(files.filter((file) => file.startsWith(`tests${path.sep}`))),
];
for (const offence of offences) console.error(offence);
console.log(
  `test layout: ${outside.length} files outside tests/ checked, ${offences.length} offence(s)`,
);
process.exitCode = offences.length === 0 ? 0 : 1;
