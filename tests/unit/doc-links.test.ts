/**
 * Every relative link in README.md, CONTRIBUTING.md and docs/*.md resolves inside the
 * repository: the file or folder exists (and stays inside the clone), and a `#fragment`
 * names a heading of the target Markdown file, slugged as GitHub does. A user's clone has
 * only what the repository holds, so a link to anything else is a dead end for them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const DOCS = [
  "README.md",
  "CONTRIBUTING.md",
  ...readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
];

/** Markdown without fenced code blocks, where neither links nor headings are. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
}

/** Markdown without code (fenced or inline), where `[x](y)` is not a link. */
function prose(markdown: string): string {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, "");
}

/** The targets of inline links and images, `[text](target "title")`. */
export function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const match of prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    targets.push(match[1]!);
  }
  return targets;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** The anchors of a Markdown file's headings (a repeated heading gets -1, -2, … as on GitHub). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const match of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(match[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1"));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** What is wrong with `target` linked from `file`, or null when it resolves. */
function problem(file: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // https:, mailto: …: not a file of ours
  const [rawPath, fragment] = target.split("#", 2) as [string, string | undefined];
  const from = path.join(ROOT, file);
  const resolved = rawPath === "" ? from : path.resolve(path.dirname(from), decodeURIComponent(rawPath));
  if (path.relative(ROOT, resolved).startsWith("..")) return "points outside the repository";
  if (!existsSync(resolved)) return "no such file or folder";
  if (fragment && statSync(resolved).isFile() && resolved.endsWith(".md")) {
    if (!anchors(readFileSync(resolved, "utf8")).has(fragment)) return `no heading #${fragment}`;
  }
  return null;
}

describe("links in the documentation", () => {
  it("finds links and anchors the way GitHub renders them", () => {
    expect(linkTargets("see [a](docs/a.md#x) and `[b](c)` and ![i](img.png \"t\")")).toEqual(["docs/a.md#x", "img.png"]);
    expect(linkTargets("```md\n[inside](code.md)\n```\n[out](out.md)")).toEqual(["out.md"]);
    expect(slug("Use it from any app (client SDK)")).toBe("use-it-from-any-app-client-sdk");
    expect(slug("C. The project's legacy JWT secret (HS256)")).toBe("c-the-projects-legacy-jwt-secret-hs256");
    expect(slug("The `clerk-webhook` function")).toBe("the-clerk-webhook-function");
    expect(problem("README.md", "docs/no-such-file.md")).toBe("no such file or folder");
    expect(problem("README.md", "../shared/SPEC.md")).toBe("points outside the repository");
    expect(problem("README.md", "#no-such-heading")).toBe("no heading #no-such-heading");
  });

  for (const file of DOCS) {
    it(`${file}: every relative link resolves inside the repository`, () => {
      const text = readFileSync(path.join(ROOT, file), "utf8");
      const broken = linkTargets(text)
        .map((target) => ({ target, problem: problem(file, target) }))
        .filter((link) => link.problem !== null);
      expect(broken).toEqual([]);
    });
  }
});
