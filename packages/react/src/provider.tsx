/**
 * `<SessionGuardProvider client={...}>`: makes one session client, its session store and
 * (optionally) one supabase-js client available to the hooks and components below it.
 */
import { createContext, type ReactNode, useContext, useState } from "react";
import type { SessionClient } from "@sessionguard/client";
import { createSessionStore, type SessionStore } from "./store.ts";

/** How to reach Supabase, for {@link useSupabaseClient}. */
export interface SupabaseSettings {
  /** The project URL, e.g. `https://<ref>.supabase.co`. */
  url: string;
  /** The project's anon (publishable) key. */
  anonKey: string;
  /** Passed on to supabase-js's `createClient` (its `accessToken` is set by us). */
  options?: Record<string, unknown>;
  /**
   * Listen on `sessionguard:<user id>` and, when the server ends this session, remove every
   * channel and sign out here (`listenForRevocation`). Default true.
   */
  closeOnRevocation?: boolean;
}

export interface SessionGuardProviderProps {
  /** From `createSessionClient({ url })`; create it once (module scope or `useState`). */
  client: SessionClient;
  /** Enables {@link useSupabaseClient}. */
  supabase?: SupabaseSettings;
  children?: ReactNode;
}

/** @internal What the provider shares. */
export interface SessionGuardContextValue {
  readonly client: SessionClient;
  readonly store: SessionStore;
  readonly supabase: SupabaseSettings | undefined;
  /** One supabase-js client per provider, made on first use. */
  readonly supabaseClient: { current: unknown };
}

const SessionGuardContext = createContext<SessionGuardContextValue | null>(null);

export function SessionGuardProvider({ client, supabase, children }: SessionGuardProviderProps) {
  const [value, setValue] = useState<SessionGuardContextValue>(() => ({
    client,
    store: createSessionStore(client),
    supabase,
    supabaseClient: { current: null },
  }));
  // A different client is a different session: start over (rare; normally the client is fixed).
  if (value.client !== client) {
    const next = { client, store: createSessionStore(client), supabase, supabaseClient: { current: null } };
    setValue(next);
    return <SessionGuardContext.Provider value={next}>{children}</SessionGuardContext.Provider>;
  }
  return <SessionGuardContext.Provider value={value}>{children}</SessionGuardContext.Provider>;
}

/** @internal */
export function useSessionGuardContext(hook: string): SessionGuardContextValue {
  const value = useContext(SessionGuardContext);
  if (!value) throw new Error(`${hook} must be used inside <SessionGuardProvider>`);
  return value;
}

/** The session client of the nearest provider, for calls the hooks do not wrap. */
export function useSessionClient(): SessionClient {
  return useSessionGuardContext("useSessionClient").client;
}
