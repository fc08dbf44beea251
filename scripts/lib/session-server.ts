/**
 * Runs the real entrypoint, `supabase/functions/session/index.ts`, in a Deno
 * process with the given settings, and stops it when asked.
 */
import {
  failingFunctionStart,
  type FunctionServer,
  type Settings,
  startFunctionServer,
} from "./function-server.ts";

export type SessionServer = FunctionServer;

/** Starts the function and resolves once it listens. */
export function startSessionServer(settings: Settings): Promise<SessionServer> {
  return startFunctionServer("session", settings);
}

/** Runs the function expecting it to refuse to start; resolves with its exit code and stderr. */
export function failingStart(settings: Settings): Promise<{ code: number | null; stderr: string }> {
  return failingFunctionStart("session", settings);
}
