/**
 * The model's client mutants carried into the real SDK: each is a patched copy of
 * packages/client/src (written under .local/, git-ignored) with one change to refresh.ts,
 * imported in place of the real one. Nothing here ships: the package has no switch that
 * turns any of these on. A patch must match the source exactly once, so a change to
 * refresh.ts that moves the code a mutant patches fails loudly here instead of testing
 * nothing.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export type SdkModule = typeof import("../../../packages/client/src/index.ts");

const SOURCE = resolve(import.meta.dirname, "../../../packages/client/src");
const COPIES = resolve(import.meta.dirname, "../../../.local/sdk-mutants");

export interface SdkMutant {
  name: string;
  /** The model mutant (model/<file>) whose counterexample the replay must catch it with. */
  model: string;
  what: string;
  /** [text of refresh.ts, its replacement]; `GRACE_MS` in the replacement is filled in. */
  patch: [string, string];
}

export const SDK_MUTANTS: readonly SdkMutant[] = [
  {
    name: "lock_shared",
    model: "mutant_lock_shared.pml",
    what: "the refresh runs without the cross-tab lock",
    patch: [
      "coordinator\n      .withLock(lockName, () => this.#refreshLocked(seen, force))",
      "Promise.resolve().then(() => this.#refreshLocked(seen, force))",
    ],
  },
  {
    name: "late_retry",
    model: "mutant_late_retry.pml",
    what: "a refresh that got no answer is retried after the server's grace window, not inside the budget",
    patch: [
      "if (\n        delay === undefined || Date.now() - started + delay > retryBudget\n      ) throw failure;\n      await sleep(delay);",
      "if (delay === undefined) throw failure;\n      await sleep(Math.max(delay, started + GRACE_MS - Date.now()));",
    ],
  },
  {
    name: "read_before_lock",
    model: "mutant_read_before_lock.pml",
    what: "a tab presents the token it read before it took the lock (storage is not re-read under it)",
    patch: ["const latest = await state.read();", "const latest = seen;"],
  },
];

/** The real SDK with `mutant` applied (the server's grace window is `graceMs`). */
export async function loadMutant(mutant: SdkMutant, graceMs: number): Promise<SdkModule> {
  const dir = join(COPIES, `${mutant.name}-${graceMs}`);
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(SOURCE)) {
    if (!name.endsWith(".ts")) continue;
    let text = readFileSync(join(SOURCE, name), "utf8");
    if (name === "refresh.ts") {
      const [from, to] = mutant.patch;
      const at = text.indexOf(from);
      if (at < 0 || text.indexOf(from, at + 1) >= 0) {
        throw new Error(`refresh.ts no longer reads ${JSON.stringify(from)}: update ${mutant.name} in tests/support/sdk/sdk-mutants.ts`);
      }
      text = text.slice(0, at) + to.replaceAll("GRACE_MS", String(graceMs)) + text.slice(at + from.length);
    }
    writeFileSync(join(dir, name), text);
  }
  return (await import(join(dir, "index.ts"))) as SdkModule;
}
