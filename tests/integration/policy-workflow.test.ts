/**
 * The GitHub Actions workflow users copy (examples/notes/github-workflow.yml) cannot run
 * here (no Docker, no GitHub), so this checks what can be checked offline: it parses, it
 * never runs for this repository, every action is pinned to a full commit, the CLI version
 * is the one this repository tests with, and every command it runs exists in that CLI
 * (`supabase <command> --help` prints that command's own usage; the CLI answers unknown
 * commands with its root help and status 0, so the usage line is what proves it).
 *
 * Also what `supabase test db` needs of the example's files: the Supabase CLI
 * (internal/db/test/test.go) mounts only supabase/tests into its pg_prove container and
 * runs `pg_prove --ext .pg --ext .sql -r` there, so every include must stay inside that
 * folder and the helpers must not look like a test file.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const example = path.join(root, "examples", "notes");
const workflowPath = path.join(example, "github-workflow.yml");
const workflowText = readFileSync(workflowPath, "utf8");
const packageJson = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const supabaseCli = path.join(root, "node_modules", ".bin", "supabase");

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
const workflow = parse(workflowText) as { on: unknown; jobs: Record<string, { steps: Step[] }> };
const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);

/** The shell commands of every `run:` step, one per line or `&&` / `;` / `|` part. */
function commands(): string[][] {
  return steps
    .flatMap((step) => (step.run ?? "").split(/\n|&&|;|\|/))
    .map((part) => part.trim())
    .filter((part) => part !== "" && !part.startsWith("#"))
    .map((part) => part.split(/\s+/));
}

/** Files under dir, recursively. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(path.join(dir, entry.name)) : [path.join(dir, entry.name)]
  );
}

describe("the copyable policy-test workflow", () => {
  it("parses as a workflow with jobs and steps, and is not one of this repository's workflows", () => {
    expect(workflow.on).toBeTruthy();
    expect(steps.length).toBeGreaterThan(0);
    const ours = path.join(root, ".github", "workflows");
    const copies = existsSync(ours)
      ? readdirSync(ours).filter((name) => readFileSync(path.join(ours, name), "utf8") === workflowText)
      : [];
    expect(copies).toEqual([]);
  });

  it("pins every action to a full commit, with the tag named beside it", () => {
    const uses = steps.flatMap((step) => (step.uses ? [step.uses] : []));
    expect(uses.length).toBeGreaterThan(0);
    for (const ref of uses) {
      expect(ref).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
      const line = workflowText.split("\n").find((l) => l.includes(ref));
      expect(line, ref).toMatch(/# v\d+\.\d+\.\d+$/);
    }
  });

  it("installs exactly the Supabase CLI version this repository tests with", () => {
    const setup = steps.filter((step) => step.uses?.startsWith("supabase/setup-cli@"));
    expect(setup).toHaveLength(1);
    expect(String(setup[0]!.with?.version)).toBe(packageJson.devDependencies.supabase);
    expect(execFileSync(supabaseCli, ["--version"], { encoding: "utf8" }).trim()).toBe(
      packageJson.devDependencies.supabase,
    );
  });

  it("runs only commands that exist: supabase subcommands of the pinned CLI and npm scripts", () => {
    const all = commands();
    expect(all.map((c) => c.join(" "))).toContain("supabase test db");
    for (const command of all) {
      if (command[0] === "npm" && command[1] === "run") {
        expect(Object.keys(packageJson.scripts), command.join(" ")).toContain(command[2]);
        continue;
      }
      expect(command[0], `unchecked command: ${command.join(" ")}`).toBe("supabase");
      const words = command.slice(1).filter((w) => !w.startsWith("-"));
      const help = execFileSync(supabaseCli, [...words, "--help"], { encoding: "utf8" });
      expect(help, command.join(" ")).toContain(`USAGE\n  supabase ${words.join(" ")} [flags]`);
      for (const flag of command.slice(1).filter((w) => w.startsWith("--"))) {
        expect(help, `${command.join(" ")}: ${flag}`).toContain(flag.split("=")[0]);
      }
    }
  });

  it("the checker itself refuses a command the CLI does not have", () => {
    const help = execFileSync(supabaseCli, ["test", "policies", "--help"], { encoding: "utf8" });
    expect(help).not.toContain("USAGE\n  supabase test policies [flags]");
  });
});

describe("the example's files as `supabase test db` sees them", () => {
  const testsDir = path.join(example, "supabase", "tests");
  const files = walk(testsDir);

  it("has test files pg_prove picks up, and the helpers are not one of them", () => {
    const picked = files.filter((f) => f.endsWith(".sql") || f.endsWith(".pg"));
    expect(picked.length).toBeGreaterThan(0);
    expect(files).toContain(path.join(testsDir, "sessionguard_test_helpers.psql"));
    expect(picked.some((f) => f.includes("sessionguard_test_helpers"))).toBe(false);
  });

  it("every include resolves to a file inside supabase/tests, the folder the CLI mounts", () => {
    let includes = 0;
    for (const file of files) {
      for (const [, target] of readFileSync(file, "utf8").matchAll(/^\\ir\s+(\S+)/gm)) {
        includes++;
        const resolved = path.resolve(path.dirname(file), target!);
        expect(resolved.startsWith(testsDir + path.sep), `${file}: ${target}`).toBe(true);
        expect(existsSync(resolved), `${file}: ${target}`).toBe(true);
      }
    }
    expect(includes).toBeGreaterThan(0);
  });

  it("every test file includes the helpers inside its own transaction and rolls back", () => {
    for (const file of files.filter((f) => f.endsWith(".sql"))) {
      const sql = readFileSync(file, "utf8");
      const begin = sql.search(/^begin;/m);
      const include = sql.search(/^\\ir .*sessionguard_test_helpers\.psql$/m);
      expect(begin, file).toBeGreaterThanOrEqual(0);
      expect(include, file).toBeGreaterThan(begin);
      expect(sql.trimEnd().endsWith("rollback;"), file).toBe(true);
    }
  });
});
