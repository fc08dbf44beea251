/**
 * Where the session function's JavaScript thread spends a refresh, from a V8
 * CPU profile (`deno run --cpu-prof`): every sample inside a time window is
 * charged to one part of a refresh (the signature, the refresh-token MAC,
 * postgres.js, hono, input parsing, the Deno HTTP runtime, ...), named after
 * the innermost frame of the stack that belongs to our code or to a library.
 *
 * V8's sampler fires on wall-clock time: a sample taken while the thread waits
 * for a core counts as whatever was on the stack. So the profile gives shares
 * of the thread's busy samples, and the bench multiplies them by the thread's
 * measured CPU time (bench/lib/proc.ts `threadCpuMs`), not by the samples' durations.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

/** The parts of a refresh, in the order the report lists them, with what each is. */
export const PART_LABELS = {
  signature: "access-token signature (functions/signer.ts, access-token.ts, @noble/curves, jose)",
  mac: "refresh-token MAC, verify + mint (functions/refresh-token.ts)",
  postgres: "postgres.js: `refresh_session` call, encode, socket, decode (functions/store.ts)",
  input: "input: body read and JSON parse, client ip, user agent (functions/request.ts)",
  dpop: "DPoP proof check (absent proof: header lookup)",
  route: "refresh route's own code (functions/routes/refresh.ts)",
  tokenResponse: "token response: JSON body and headers (functions/routes/token-response.ts)",
  handler: "handler: composition, CORS, errors, logging (functions/handler.ts, cors.ts, errors.ts, entrypoint)",
  hono: "hono: routing, middleware chain, context (no frame of ours inside)",
  runtime: "Deno runtime: HTTP server, Request/Response/Headers, promises, event loop",
  gc: "garbage collection (on the JavaScript thread)",
  program: "V8 and native code outside JavaScript ((program))",
  other: "other",
} as const;
export type Part = keyof typeof PART_LABELS;
export const PARTS = Object.keys(PART_LABELS) as Part[];

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Samples per part inside the window, and the idle ones. */
export interface ProfileShares {
  readonly busySamples: number;
  readonly idleSamples: number;
  readonly samples: Readonly<Record<Part, number>>;
}

/** Our own files, by the part they make up; utility files pass the charge on to their caller. */
const OWN_FILES: readonly [RegExp, Part | null][] = [
  [/functions\/(signer|access-token)\.ts$/, "signature"],
  [/functions\/refresh-token\.ts$/, "mac"],
  [/functions\/store\.ts$/, "postgres"],
  [/functions\/request\.ts$/, "input"],
  [/functions\/(dpop|routes\/dpop-proofs)\.ts$/, "dpop"],
  [/functions\/routes\/refresh\.ts$/, "route"],
  [/functions\/routes\/token-response\.ts$/, "tokenResponse"],
  [/functions\/(base64url|constant-time|routes\/deps)\.ts$/, null],
  [/functions\/|supabase\/functions\//, "handler"],
];
/** Libraries, charged when no frame of ours is further in. */
const LIBRARIES: readonly [string, Part][] = [
  ["@noble", "signature"],
  ["jose", "signature"],
  ["postgres", "postgres"],
  ["hono", "hono"],
];
/** An npm package's name in a module url: Deno's npm cache or node_modules. */
const PACKAGE = /\/(?:node_modules|registry\.npmjs\.org)\/((?:@[^/]+\/)?[^/]+)\//;

/** The part a frame's url names, "runtime" for Deno's own code and native frames, null for a pass-through file. */
function classify(url: string): { part: Part | null; own: boolean } {
  for (const [pattern, part] of OWN_FILES) if (pattern.test(url)) return { part, own: true };
  const name = PACKAGE.exec(url)?.[1];
  if (name === undefined) return { part: "runtime", own: false };
  for (const [library, part] of LIBRARIES) {
    if (name === library || name.startsWith(`${library}/`)) return { part, own: false };
  }
  return { part: "other", own: false };
}

/** Reads the one profile Deno wrote into `dir`. */
export async function readProfile(dir: string): Promise<CpuProfile> {
  const files = (await readdir(dir)).filter((file) => file.endsWith(".cpuprofile"));
  if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${files.length}`);
  return JSON.parse(await readFile(path.join(dir, files[0]), "utf8")) as CpuProfile;
}

/**
 * Charges every sample taken in [`fromUs`, `toUs`] (monotonic clock, µs, as
 * `process.hrtime.bigint() / 1000n` reads it on Linux) to a part: the innermost
 * frame of ours decides; failing that, the innermost library; failing that, the runtime.
 */
export function profileShares(profile: CpuProfile, fromUs: number, toUs: number): ProfileShares {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const partOf = new Map<number, Part | "idle">();
  const charge = (leaf: number): Part | "idle" => {
    const known = partOf.get(leaf);
    if (known) return known;
    const name = byId.get(leaf)?.callFrame.functionName ?? "";
    let part: Part | "idle" | undefined = name === "(idle)"
      ? "idle"
      : name === "(garbage collector)"
      ? "gc"
      : name === "(program)"
      ? "program"
      : undefined;
    // Walking out from the leaf: a library met before a frame of ours is charged, unless a
    // utility of ours (base64url.ts) called it for its caller; the composition (handler.ts,
    // the entrypoint) is outside every request's work, so a library inside it keeps the charge.
    let library: Part | undefined;
    for (let id: number | undefined = leaf; part === undefined && id !== undefined; id = parent.get(id)) {
      const { part: framePart, own } = classify(byId.get(id)?.callFrame.url ?? "");
      if (own && framePart === null) library = undefined;
      else if (own) part = framePart === "handler" && library ? library : framePart!;
      else if (framePart !== "runtime") library ??= framePart!;
    }
    part ??= library ?? "runtime";
    partOf.set(leaf, part);
    return part;
  };
  const samples = Object.fromEntries(PARTS.map((p) => [p, 0])) as Record<Part, number>;
  let idleSamples = 0;
  let busySamples = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i];
    if (at < fromUs || at > toUs) continue;
    const part = charge(profile.samples[i]);
    if (part === "idle") idleSamples++;
    else {
      busySamples++;
      samples[part]++;
    }
  }
  return { busySamples, idleSamples, samples };
}

/** Now on the monotonic clock the profile's timestamps use, µs. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

