/** The real session entrypoint, `supabase/functions/session/index.ts`, in a Deno process (./function-server.ts). */
import { failingFunctionStart, type FunctionServer, type Settings, startFunctionServer } from "./function-server.ts";

export type SessionServer = FunctionServer;

/** Starts the function and resolves once it listens. */
export const startSessionServer = (settings: Settings): Promise<SessionServer> => startFunctionServer("session", settings);

/** Runs the function expecting it to refuse to start; resolves with its exit code and stderr. */
export const failingStart = (settings: Settings) => failingFunctionStart("session", settings);
