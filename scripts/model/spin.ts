/**
 * Runs spin on the protocol model (model/*.pml): exhaustive checks of one named property,
 * counterexample trails, and random simulations. Every run happens in a scratch copy of
 * model/ so that spin's generated files (pan.c, trails) never land in the repository.
 *
 * Needs `spin` and a C compiler on the PATH (Debian: spin, gcc).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The repository's model directory. */
export const MODEL_DIR = resolve(import.meta.dirname, "../../model");
/** Compiled verifiers (git-ignored). */
const CACHE_DIR = resolve(import.meta.dirname, "../../.local/model-cache");

/** Model sources: the protocol model and its mutants. */
export function modelFiles(): { model: string; mutants: { file: string; expect: string; what: string }[] } {
  const mutants = readdirSync(MODEL_DIR)
    .filter((name) => name.endsWith(".pml") && name.includes("mutant"))
    .sort()
    .map((file) => {
      const text = readFileText(join(MODEL_DIR, file));
      const expect = /^ \* expect: (\w+)$/m.exec(text)?.[1];
      const what = /^ \* Mutant: (.+)$/m.exec(text)?.[1] ?? file;
      if (!expect) throw new Error(`${file}: no "expect: <property>" line`);
      return { file, expect, what };
    });
  return { model: "session.pml", mutants };
}

/** Property names declared by `ltl name { ... }` in a model file. */
export function properties(file = "session.pml"): string[] {
  return [...readFileText(join(MODEL_DIR, file)).matchAll(/^ltl (\w+) \{/gm)].map((m) => m[1]);
}

function readFileText(path: string): string {
  return readFileSync(path, "utf8");
}

/** A scratch copy of model/, removed by `close()`. */
export interface Workspace {
  readonly dir: string;
  close(): void;
}

export function workspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), "sg-model-"));
  cpSync(MODEL_DIR, dir, { recursive: true });
  return { dir, close: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A model compiled into a verifier (pan), ready to check its properties one by one. */
export interface Verifier {
  readonly file: string;
  check(property: string): Promise<CheckResult>;
}

export interface CheckResult {
  property: string;
  violated: boolean;
  states: number;
  seconds: number;
  /** The counterexample's "SG" lines, when violated. */
  trail: string[];
}

/**
 * spin -a + cc: one compiled verifier per model file (each has a pan of its own). The
 * protocol model's searches are long enough for an optimised pan to pay for its slower
 * compile; a mutant's search stops at its first violation, so `quick` compiles it -O0.
 */
export async function compile(
  ws: Workspace,
  file: string,
  options: { quick?: boolean; defines?: readonly string[] } = {},
): Promise<Verifier> {
  const dir = mkdtempSync(join(ws.dir, "pan-"));
  cpSync(MODEL_DIR, dir, { recursive: true });
  // Model settings (spin -D...), e.g. SHIPPED for the SDK's own numbers.
  const defines = (options.defines ?? []).map((d) => `-D${d}`);
  // SAFETY: the properties are invariants, so no acceptance cycles to look for.
  // MEMLIM caps pan's memory (MB) however the model is changed.
  const flags = ["-w", options.quick ? "-O0" : "-O1", "-DSAFETY", "-DMEMLIM=1024"];
  // Compiled verifiers are kept by the hash of every model file, the file and the flags,
  // so the suites of one `npm test` compile each model once.
  const hash = createHash("sha256").update(JSON.stringify([file, defines, flags]));
  for (const name of readdirSync(MODEL_DIR).sort()) hash.update(name).update(readFileSync(join(MODEL_DIR, name)));
  const cached = join(CACHE_DIR, `${hash.digest("hex").slice(0, 32)}.pan`);
  if (existsSync(cached)) {
    copyFileSync(cached, join(dir, "pan"));
  } else {
    await run("spin", [...defines, "-a", file], { cwd: dir });
    await run("cc", [...flags, "-o", "pan", "pan.c"], { cwd: dir });
    mkdirSync(CACHE_DIR, { recursive: true });
    // Written under a private name, then renamed: a reader never sees half a file.
    const partial = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    copyFileSync(join(dir, "pan"), partial);
    renameSync(partial, cached);
  }
  return {
    file,
    async check(property) {
      const began = performance.now();
      const { stdout } = await run("./pan", ["-N", property, "-E", "-m1000000", "-w22"], {
        cwd: dir,
        maxBuffer: 64 << 20,
      }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
      const verdict = readVerdict(stdout, `pan -N ${property} on ${file}${defines.length ? ` (${defines.join(" ")})` : ""}`);
      const { states, violated } = verdict;
      let trail: string[] = [];
      if (violated) {
        const replay = await run("spin", [...defines, "-t", file], { cwd: dir, maxBuffer: 64 << 20 });
        trail = sgLines(replay.stdout);
      }
      return { property, violated, states, seconds: (performance.now() - began) / 1000, trail };
    },
  };
}

/**
 * What pan's output says, failing closed: only a search that ran to its end with no error
 * "holds", and only a search that found an error (and so stopped early) "is violated".
 * Anything else throws: no verdict, the search cut short without an error ("Search not
 * completed": the depth or memory bound, MEMLIM), running out of memory, or 0 states.
 */
export function readVerdict(stdout: string, what: string): { states: number; violated: boolean } {
  const tail = stdout.slice(-2000);
  const errors = /errors: (\d+)/.exec(stdout);
  if (!errors) throw new Error(`${what} gave no verdict:\n${tail}`);
  if (/max search depth too small|out of memory|reached -DMEMLIM bound|pan: resource/i.test(stdout)) {
    throw new Error(`${what} hit a search bound:\n${tail}`);
  }
  const states = Number(/(\d+) states, stored/.exec(stdout)?.[1] ?? 0);
  if (!(states > 0)) throw new Error(`${what} explored 0 states:\n${tail}`);
  const violated = Number(errors[1]) > 0;
  if (!violated && /Search not completed/.test(stdout)) {
    throw new Error(`${what} did not complete its search:\n${tail}`);
  }
  return { states, violated };
}

/**
 * spin in a directory of its own: a simulation writes scratch files (the never claims'
 * pml.nvr) next to the model, so two runs must not share one.
 */
async function spinAlone(ws: Workspace, args: string[], extra?: { name: string; text: string }): Promise<string> {
  const dir = mkdtempSync(join(ws.dir, "run-"));
  try {
    cpSync(MODEL_DIR, dir, { recursive: true });
    if (extra) writeFileSync(join(dir, extra.name), extra.text);
    const { stdout } = await run("spin", args, { cwd: dir, maxBuffer: 16 << 20 });
    return stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One random simulation of a model (seeded): its "SG" lines. */
export async function simulate(ws: Workspace, seed: number, file = "session.pml"): Promise<string[]> {
  return sgLines(await spinAlone(ws, [`-n${seed}`, file]));
}

/** Runs a scripted model (text, which may include the model's files); its "SG" lines. */
export async function runScript(ws: Workspace, text: string): Promise<string[]> {
  return sgLines(await spinAlone(ws, ["script.pml"], { name: "script.pml", text }));
}

function sgLines(output: string): string[] {
  return output.split("\n").map((line) => line.trim()).filter((line) => line.startsWith("SG "));
}
