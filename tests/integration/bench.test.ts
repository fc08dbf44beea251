/**
 * `npm run bench -- --quick` runs end to end and writes a well-formed report,
 * so the benchmark cannot rot. No figure is judged here: timings go to
 * BENCHMARKS.md, never into pass or fail.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("exit", (code) => resolve({ code, output }));
  });
}

const positive = (value: unknown) => typeof value === "number" && Number.isFinite(value) && value > 0;

test("npm run bench -- --quick completes and writes a well-formed report", async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), "sessionguard-bench-"));
  try {
    const { code, output } = await run("npm", ["run", "--silent", "bench", "--", "--quick", "--out", out]);
    expect(code, output.slice(-6000)).toBe(0);

    const resultsDir = path.join(out, "bench", "results");
    const files = await readdir(resultsDir);
    const jsonFile = files.find((file) => /^\d{4}-\d{2}-\d{2}-quick\.json$/.test(file));
    expect(jsonFile, files.join(", ")).toBeDefined();
    // The report is tables only: no plot is written.
    expect(files.filter((file) => file.endsWith(".svg"))).toEqual([]);

    const results = JSON.parse(await readFile(path.join(resultsDir, jsonFile!), "utf8"));
    expect(results.format).toBe(2);
    expect(results.quick).toBe(true);
    expect(results.failures).toEqual({});
    expect(positive(results.machine.cpus)).toBe(true);
    const { database, http, rls, storage, growth, costs } = results.scenarios;

    expect(database.levels.map((l: { clients: number }) => l.clients)).toEqual([1, 8, 32]);
    for (const level of database.levels) {
      expect(positive(level.insert.tps) && positive(level.rotate.tps) && positive(level.ratio)).toBe(true);
      expect(level.rotationsCommitted).toBe(level.rotate.transactions);
    }
    for (const us of Object.values(database.parts)) expect(positive(us)).toBe(true);

    expect(http.levels.map((l: { connections: number }) => l.connections)).toEqual([1, 8, 32, 64]);
    // oidc-provider runs only in the peers scenario: its in-memory runs at every level are there.
    const { peers } = results.scenarios;
    expect(peers.levels.map((l: { connections: number }) => l.connections)).toEqual([1, 8, 32, 64]);
    for (const [index, level] of http.levels.entries()) {
      for (const run of [level.baseline, level.refresh, peers.levels[index].run]) {
        expect(run.ok, JSON.stringify(run)).toBeGreaterThan(0);
        expect(positive(run.rps) && positive(run.latencyMs.p50) && positive(run.latencyMs.p99)).toBe(true);
        expect(positive(run.rss.peakKb)).toBe(true);
      }
      // Every refresh presents a live token: a 4xx would mean the load broke the token discipline.
      expect(Object.keys(level.refresh.errors).filter((code) => code.startsWith("4"))).toEqual([]);
      expect(Object.keys(peers.levels[index].run.errors).filter((code) => code.startsWith("4"))).toEqual([]);
    }
    expect(http.hs256.ok).toBeGreaterThan(0);

    // The helper denies once the session is revoked, and runs once per statement, not per row.
    expect(rls.variants.guarded.rowsLive).toBe(rls.rows);
    expect(rls.variants.guarded.rowsRevoked).toBe(0);
    expect(rls.variants.plain.rowsRevoked).toBe(rls.rows);
    if (rls.variants.guarded.helperCalls !== null) expect(rls.variants.guarded.helperCalls).toBe(1);
    if (rls.variants.unwrapped.helperCalls !== null) {
      expect(rls.variants.unwrapped.helperCalls).toBe(rls.rows);
    }
    expect(positive(rls.ratio)).toBe(true);

    for (const sizes of [storage.fresh, storage.afterOne.raw, storage.afterMany.vacuumed]) {
      expect(positive(sizes.totalBytes)).toBe(true);
    }
    expect(storage.afterMany.vacuumed.events).toBe(storage.fresh.events); // rotations write no events

    expect(growth.phases).toHaveLength(2);
    for (const phase of growth.phases) {
      expect(positive(phase.rotate.tps)).toBe(true);
      expect(phase.refresh.ok).toBeGreaterThan(0);
      expect(phase.refreshWithPurge.ok).toBeGreaterThan(0);
      expect(phase.purge.batches).toBeGreaterThan(0);
    }

    for (
      const key of [
        "macMint",
        "macVerify",
        "es256",
        "es256Noble",
        "es256Webcrypto",
        "hs256",
        "ed25519",
        "rotate",
        "rotatePrepared",
        "selectOne",
      ]
    ) {
      expect(positive(costs.micro[key].mean), key).toBe(true);
      expect(positive(costs.micro[key].cpu), key).toBe(true);
    }

    // Scenario 9: both signers and both peers answered every live token.
    for (const name of ["noble", "webcrypto", "production", "memory"]) {
      const run = peers.rounds[0][name];
      expect(run.ok, name).toBeGreaterThan(0);
      expect(Object.keys(run.errors).filter((code) => code.startsWith("4")), name).toEqual([]);
    }
    // Counted on the wire, not timed: one statement per refresh, parsed once per connection when
    // prepared and on every call when not; the production peer needs several. The last in-flight
    // requests of a counting run (4 connections) may add a little over the true value.
    const { ours, oursUnprepared, production } = peers.sql;
    for (const side of [ours, oursUnprepared]) {
      expect(side.refreshes).toBeGreaterThan(20);
      expect(side.statements).toBeGreaterThanOrEqual(1);
      expect(side.statements).toBeLessThan(1.25);
    }
    expect(ours.parses).toBeLessThan(0.25);
    expect(oursUnprepared.parses).toBeGreaterThanOrEqual(1);
    expect(production.statements).toBeGreaterThanOrEqual(3);
    expect(production.commits).toBeGreaterThan(ours.commits);
    for (const phase of growth.phases) {
      expect(positive(phase.rotateCold.tps) && positive(phase.steadyStats.walRecords)).toBe(true);
    }
    expect(costs.bareHttp.many.ok).toBeGreaterThan(0);

    expect(results.targets.length).toBeGreaterThan(10);
    for (const target of results.targets) {
      expect(typeof target.met).toBe("boolean");
      expect(Number.isFinite(target.value), JSON.stringify(target)).toBe(true);
    }

    const markdown = await readFile(path.join(out, "BENCHMARKS.md"), "utf8");
    for (
      const heading of [
        "### Targets",
        "### 1. Database",
        "### 2. HTTP",
        "### 3. Peer",
        "### 4. RLS",
        "### 5. Storage",
        "### 6. Function memory",
        "### 7. Growth",
        "### 8. Cost of one refresh",
        "### 9. Peers",
        "### 10. Signer and prepared statements",
        "### 11. The function's CPU per refresh without the signature",
        "### 7b. Growth: cold against steady state",
        "### 12. Sizing guide",
        "### Machine",
        "### Reproduce",
      ]
    ) {
      expect(markdown).toContain(heading);
    }
    expect(markdown).toContain(`bench/results/${jsonFile}`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, 600_000);
