/**
 * The one guard of this process. Next.js may bundle the proxy and the app's routes
 * separately, so the guard lives on `globalThis`: both share its refresh single-flight.
 */
import { createSessionGuard, type SessionGuard, type SessionGuardOptions } from "@sessionguard/server";
import { settings } from "./settings.ts";

export const guardOptions: SessionGuardOptions = {
  sessionUrl: settings.sessionUrl,
  serverKey: settings.serverKey,
  refreshMargin: settings.refreshMargin,
};

const KEY = Symbol.for("sessionguard.example.guard");

/** The process's guard (created on first use). */
export function guard(): Promise<SessionGuard> {
  const holder = globalThis as unknown as Record<symbol, Promise<SessionGuard> | undefined>;
  return (holder[KEY] ??= createSessionGuard(guardOptions));
}
