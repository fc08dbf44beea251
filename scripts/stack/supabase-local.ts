/**
 * SG_SUPABASE_LOCAL=1: `npm start` next to a running `supabase start` (Docker), using its
 * real PostgREST and database instead of the stand-ins, with the development issuer still
 * available (see docs/local-stack.md).
 *
 * What `supabase start` runs, as `supabase status -o json` reports it (supabase/cli
 * internal/status/status.go `CustomName`: API_URL, DB_URL, JWT_SECRET, ANON_KEY, and in
 * newer CLIs PUBLISHABLE_KEY): its gateway on 54321 routes `/rest/v1/` to PostgREST
 * (supabase/cli internal/start/templates/kong.yml), its database listens on 54322, and
 * PostgREST verifies tokens with JWT_SECRET (HS256, no kid). So here:
 *   - DATABASE_URL is its DB_URL (migrations and the notes table are pushed there);
 *   - the session function signs HS256 with its JWT_SECRET (SG_SUPABASE_JWT_SECRET, a
 *     local default: the development issuer's "no key brought by the user" rule holds);
 *   - the gateway passes `/rest/v1` on to API_URL (SG_DATA_API_UPSTREAM);
 *   - the gateway's own port moves off 54321, which `supabase start` holds, to 54331.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type { Settings } from "./env.ts";

/** `npm start`'s port when `supabase start` holds 54321. */
export const SUPABASE_LOCAL_PORT = 54331;

export interface SupabaseLocal {
  readonly apiUrl: string;
  readonly dbUrl: string;
  readonly jwtSecret: string;
  /** What supabase-js takes as its key against `supabase start` (publishable, else anon). */
  readonly apiKey: string;
}

/** Reads `supabase status -o json`'s answer; throws naming what is missing. */
export function parseSupabaseStatus(json: string): SupabaseLocal {
  let status: Record<string, unknown>;
  try {
    status = JSON.parse(json);
  } catch {
    throw new Error("supabase status -o json did not answer JSON: is `supabase start` running?");
  }
  const field = (name: string) => {
    const value = status[name];
    if (typeof value !== "string" || value === "") {
      throw new Error(
        `supabase status reports no ${name}: is \`supabase start\` running, with its API and database?`,
      );
    }
    return value;
  };
  const apiKey = typeof status.PUBLISHABLE_KEY === "string" && status.PUBLISHABLE_KEY !== ""
    ? status.PUBLISHABLE_KEY
    : field("ANON_KEY");
  return {
    apiUrl: field("API_URL").replace(/\/+$/, ""),
    dbUrl: field("DB_URL"),
    jwtSecret: field("JWT_SECRET"),
    apiKey,
  };
}

/** Asks the Supabase CLI of this repository (`supabase status -o json`, needs Docker). */
export async function readSupabaseLocal(root: string, workdir?: string): Promise<SupabaseLocal> {
  const cli = path.join(root, "node_modules", ".bin", "supabase");
  const args = ["status", "-o", "json", ...(workdir ? ["--workdir", workdir] : [])];
  try {
    const { stdout } = await promisify(execFile)(cli, args, {
      cwd: root,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
    });
    return parseSupabaseStatus(stdout);
  } catch (error) {
    const message = (error as { stderr?: string; message: string }).stderr || (error as Error).message;
    throw new Error(
      `SG_SUPABASE_LOCAL=1, but \`supabase status\` failed (run \`supabase start\` first): ${message.trim()}`,
    );
  }
}

/**
 * The settings that put the stack on `local`: the user's own DATABASE_URL, SG_PORT and
 * SG_DATA_API_UPSTREAM still win.
 */
export function supabaseLocalSettings(local: SupabaseLocal, given: Settings): Settings {
  return {
    ...given,
    DATABASE_URL: given.DATABASE_URL ?? local.dbUrl,
    SG_PORT: given.SG_PORT ?? String(SUPABASE_LOCAL_PORT),
    SG_DATA_API_UPSTREAM: given.SG_DATA_API_UPSTREAM ?? `${local.apiUrl}/rest/v1`,
    SG_SUPABASE_JWT_SECRET: local.jwtSecret,
    SG_SUPABASE_API_KEY: local.apiKey,
  };
}
