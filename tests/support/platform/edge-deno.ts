/**
 * The Deno that Supabase's Edge Runtime runs, for running the entrypoints and `deno
 * check` under it as well as under ours. Its version is named in one place:
 * ./edge-deno/package.json (supabase/edge-runtime v1.74.0, commit b1edf453,
 * `deno/Cargo.toml`: `version = "2.1.4"`), installed from npm into that folder on
 * first use (the binary ships in `@deno/linux-x64-glibc`, as ours does).
 *
 * Deno 2.1 reads lockfiles up to version 4, so the functions' deno.lock files are
 * written in version 4, which Deno 2.9 reads unchanged under `--frozen`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const folder = path.join(here, "edge-deno");
const root = path.resolve(here, "..", "..", "..");

/** Our Deno (package.json devDependency). */
export const OUR_DENO = path.join(root, "node_modules", ".bin", "deno");

/** The pinned version, as ./edge-deno/package.json names it. */
export function edgeDenoVersion(): string {
  return (JSON.parse(readFileSync(path.join(folder, "package.json"), "utf8")) as {
    dependencies: { deno: string };
  }).dependencies.deno;
}

/**
 * The Edge Runtime's Deno binary, installed on first call, with its npm cache filled
 * for both functions (their own deno.json and deno.lock, `--frozen`).
 */
export function edgeDeno(): string {
  const binary = path.join(folder, "node_modules", "deno", "deno");
  if (!existsSync(binary)) {
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: folder,
      stdio: "inherit",
    });
  }
  for (const name of ["session", "clerk-webhook"]) {
    // The machine's certificate store: npm packages come through whatever proxy it trusts.
    execFileSync(binary, ["cache", "--frozen", "--quiet", "index.ts"], {
      cwd: path.join(root, "supabase", "functions", name),
      env: { ...process.env, DENO_TLS_CA_STORE: "system", RUST_BACKTRACE: "0", NO_COLOR: "1" },
      stdio: ["ignore", "inherit", "inherit"],
    });
  }
  return binary;
}
