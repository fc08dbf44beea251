/**
 * Builds the devices page (web/src/main.tsx, on @sessionguard/react and the SDK) into one
 * browser ES module, `devices.js`, with Vite, under `.local/web/<hash>/` (gitignored), so a
 * fresh clone needs no committed build. `<hash>` covers every input (the page's, the React
 * package's and the SDK's sources, this file, package-lock.json): an unchanged checkout
 * reuses the last build at once, a changed one builds again (a few seconds).
 *
 * Node only (Vite runs here, not in the Deno gateway): `npm start` builds before its
 * gateway listens and hands it the folder; web/server.ts in Node builds on first request.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const WEB_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(WEB_DIR);
const OUT_ROOT = path.join(ROOT, ".local", "web");
/** The bundle's file name; the page's index.html loads it. */
export const PAGE_SCRIPT = "devices.js";

const SOURCES = [path.join(WEB_DIR, "src"), path.join(ROOT, "packages", "react", "src"), path.join(ROOT, "packages", "client", "src")];
const FILES = [fileURLToPath(import.meta.url), path.join(ROOT, "package-lock.json")];

export interface PageBuild {
  /** Folder holding devices.js. */
  readonly dir: string;
  /** False when an earlier build of the same inputs was reused. */
  readonly built: boolean;
  readonly ms: number;
}

/** Where the build of the current sources is (or will be). */
export async function pageBuildDir(): Promise<string> {
  const hash = createHash("sha256");
  const files = [...FILES];
  for (const dir of SOURCES) files.push(...(await listFiles(dir)));
  for (const file of files.sort()) {
    hash.update(path.relative(ROOT, file)).update("\0").update(await readFile(file)).update("\0");
  }
  return path.join(OUT_ROOT, hash.digest("hex").slice(0, 16));
}

let running: Promise<PageBuild> | undefined;

/** Builds the page unless the current sources' build exists; one build at a time per process. */
export function buildPage(): Promise<PageBuild> {
  const run = running ??= build();
  // A failed build may be retried (say, after fixing a syntax error).
  run.catch(() => (running = undefined));
  return run;
}

async function build(): Promise<PageBuild> {
  const t0 = performance.now();
  const dir = await pageBuildDir();
  if (existsSync(path.join(dir, PAGE_SCRIPT))) return { dir, built: false, ms: performance.now() - t0 };
  // Into a folder of our own, then renamed: another process building the same sources
  // at the same moment (parallel test files) never sees half a build.
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(OUT_ROOT, { recursive: true });
  try {
    const [{ build: viteBuild }, { default: react }] = await Promise.all([
      import("vite"),
      import("@vitejs/plugin-react"),
    ]);
    await viteBuild({
      configFile: false,
      envDir: false,
      root: WEB_DIR,
      mode: "production",
      logLevel: "warn",
      clearScreen: false,
      plugins: [react()],
      resolve: {
        // The packages' sources, as examples/react-vite resolves them; only their entries.
        alias: [
          { find: /^@sessionguard\/client$/, replacement: path.join(ROOT, "packages", "client", "src", "index.ts") },
          { find: /^@sessionguard\/react$/, replacement: path.join(ROOT, "packages", "react", "src", "index.ts") },
        ],
        dedupe: ["react", "react-dom"],
      },
      build: {
        outDir: tmp,
        emptyOutDir: true,
        target: "es2022", // top-level await
        modulePreload: false,
        copyPublicDir: false,
        reportCompressedSize: false,
        rolldownOptions: {
          input: path.join(WEB_DIR, "src", "main.tsx"),
          output: { format: "es", entryFileNames: PAGE_SCRIPT, codeSplitting: false },
        },
      },
    });
    await rename(tmp, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Someone else renamed the same build first: theirs is as good as ours.
      if (!existsSync(path.join(dir, PAGE_SCRIPT))) throw error;
    });
    await pruneOthers(dir);
    return { dir, built: true, ms: performance.now() - t0 };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Builds of earlier sources go once they are an hour old (a stack started before an edit
 * may still serve its own); a build still being written (a `.tmp-` folder) stays.
 */
async function pruneOthers(keep: string): Promise<void> {
  const old = Date.now() - 3_600_000;
  for (const entry of await readdir(OUT_ROOT, { withFileTypes: true })) {
    const full = path.join(OUT_ROOT, entry.name);
    if (!entry.isDirectory() || full === keep || !/^[0-9a-f]{16}$/.test(entry.name)) continue;
    if ((await stat(full)).mtimeMs < old) await rm(full, { recursive: true, force: true });
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  }
  return out;
}
