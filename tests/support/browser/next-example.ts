/**
 * The Next.js example (examples/nextjs) as the tests run it: built once with `next build`
 * into a build folder of this run, then served by `next start` (one Node process) against
 * a running stack. A build is CPU-heavy (minutes on a shared 2-core machine): one per
 * test file, never per test.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../scripts/lib/ports.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const APP = path.join(ROOT, "examples", "nextjs");
const NEXT = path.join(ROOT, "node_modules", ".bin", "next");

export interface NextExample {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Builds the example into `.next-test` and serves it with `env` (the example's settings).
 * One folder name, listed in the example's tsconfig.json, so a build leaves that file as it
 * is. With SG_NEXT_KEEP_BUILD=1 (while working on the tests) an existing build is reused
 * and kept.
 */
export async function startNextExample(env: Record<string, string>): Promise<NextExample> {
  const keep = process.env.SG_NEXT_KEEP_BUILD === "1";
  const distDir = ".next-test";
  const common = { ...process.env, ...env, SG_NEXT_DIST_DIR: distDir, NEXT_TELEMETRY_DISABLED: "1", NO_COLOR: "1" };
  const cleanup = () => keep || rmSync(path.join(APP, distDir), { recursive: true, force: true });
  const built = keep && existsSync(path.join(APP, distDir, "BUILD_ID"));
  const build = built ? { status: 0, stdout: "", stderr: "" } : spawnSync(NEXT, ["build", APP], {
    cwd: ROOT,
    env: common,
    encoding: "utf8",
    timeout: 600_000,
  });
  if (build.status !== 0) {
    cleanup();
    throw new Error(`next build failed (${build.status}):\n${build.stdout}\n${build.stderr}`);
  }
  const port = await freePort();
  const child = spawn(NEXT, ["start", APP, "--port", String(port), "--hostname", "127.0.0.1"], {
    cwd: ROOT,
    env: common,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    cleanup();
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      cleanup();
      throw new Error(`next start exited:\n${output}`);
    }
    const up = await fetch(`${url}/api/me`).then(() => true, () => false);
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`next start was not ready in 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { url, stop };
}
