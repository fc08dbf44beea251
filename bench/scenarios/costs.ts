/**
 * Scenario 8: the cost of one refresh broken down, measured in the same run:
 * HTTP (a bare Deno.serve), the refresh-token MAC, the SQL round trip of the
 * rotation and the access-token signature (micro-measured in Deno with the
 * function's own code, bench/servers/micro.ts).
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { refreshSecret, signingJwk } from "../../scripts/lib/throwaway-keys.ts";
import type { Context } from "../lib/context.ts";
import { progress } from "../lib/log.ts";
import { DENO, repoRoot } from "../lib/proc.ts";
import { startBaseline } from "../lib/targets.ts";
import { measure, type MeasuredRun } from "./http.ts";

const run = promisify(execFile);

interface Timing {
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU of the Deno process per call, µs (absent in results before 2026-11-30). */
  readonly cpu?: number;
}

export interface CostsResult {
  /** Microseconds per operation, measured in Deno one at a time. */
  readonly micro: {
    readonly iterations: number;
    /** The store method timed as the SQL round trip. */
    readonly storeMethod: string;
    readonly macMint: Timing;
    readonly macVerify: Timing;
    /** ES256 as the function is configured (SESSION_SIGNER=auto). */
    readonly es256: Timing;
    /** Each implementation (functions/signer.ts), alternated; absent before 2026-11-30. */
    readonly es256Noble?: Timing;
    readonly es256Webcrypto?: Timing;
    readonly hs256: Timing;
    readonly ed25519: Timing;
    readonly json: Timing;
    /** The rotation round trip without prepared statements (SESSION_DB_PREPARE=off). */
    readonly rotate: Timing;
    /** The same with prepared statements; absent before 2026-11-30. */
    readonly rotatePrepared?: Timing;
    readonly selectOne: Timing;
    readonly selectOnePrepared?: Timing;
    /** Client CPU per call with 64 calls in flight (the loop never idles), µs; absent before 2026-11-30. */
    readonly clientCpuBusy?: {
      readonly rotatePrepared: number;
      readonly rotateUnprepared: number;
      readonly selectOnePrepared: number;
      readonly selectOneUnprepared: number;
    };
  };
  /** A bare Deno.serve (no database) at 1 and 32 connections. */
  readonly bareHttp: { readonly one: MeasuredRun; readonly many: MeasuredRun };
}

export async function runCosts(ctx: Context): Promise<CostsResult> {
  const { db, scale } = ctx;
  progress(
    "costs",
    `micro-measuring MAC, signatures and the rotation round trip (${scale.microIterations} each)`,
  );
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
    RUST_BACKTRACE: "0",
    DATABASE_URL: db.url,
    CLERK_ISSUER: "http://127.0.0.1:9",
    SESSION_ISSUER: "http://localhost:54321/functions/v1/session",
    SESSION_SIGNING_JWK: JSON.stringify(await signingJwk()),
    SESSION_REFRESH_SECRET: refreshSecret(),
    BENCH_ITERATIONS: String(scale.microIterations),
  };
  const { stdout } = await run(DENO, [
    "run",
    "-A",
    "--quiet",
    path.join(repoRoot, "bench", "servers", "micro.ts"),
  ], {
    cwd: repoRoot,
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = stdout.split("\n").find((l) => l.startsWith("micro: "));
  if (!line) throw new Error(`micro.ts printed no result:\n${stdout}`);
  const micro = JSON.parse(line.slice("micro: ".length)) as CostsResult["micro"];
  progress(
    "costs",
    `MAC mint ${micro.macMint.mean.toFixed(1)} µs, verify ${micro.macVerify.mean.toFixed(1)} µs, ES256 ${
      micro.es256.mean.toFixed(0)
    } µs, HS256 ${micro.hs256.mean.toFixed(1)} µs, Ed25519 ${
      micro.ed25519.mean.toFixed(1)
    } µs, rotate round trip ${micro.rotate.mean.toFixed(0)} µs` +
      (micro.es256Noble && micro.es256Webcrypto && micro.rotatePrepared
        ? `; ES256 noble ${micro.es256Noble.mean.toFixed(0)} µs vs WebCrypto ${
          micro.es256Webcrypto.mean.toFixed(0)
        } µs; rotation prepared ${micro.rotatePrepared.mean.toFixed(0)} µs`
        : ""),
  );

  progress("costs", "bare Deno.serve (no database) at 1 and 32 connections");
  const bare = await startBaseline(db.url, true);
  try {
    const filler = (n: number) => ({
      kind: "per-connection" as const,
      tokens: Array(n).fill("x".repeat(112)),
    });
    await measure(bare.server, bare.target, filler(8), 8, scale.warmupSeconds, db);
    const one = await measure(bare.server, bare.target, filler(1), 1, scale.httpSeconds, db);
    const many = await measure(bare.server, bare.target, filler(32), 32, scale.httpSeconds, db);
    progress(
      "costs",
      `bare HTTP: p50 ${one.latencyMs.p50.toFixed(3)} ms at 1 connection, ${
        Math.round(many.rps)
      } req/s at 32`,
    );
    return { micro, bareHttp: { one, many } };
  } finally {
    await bare.server.stop();
  }
}
