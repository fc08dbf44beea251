/**
 * `useSupabaseClient()`: one supabase-js client per provider whose every request carries
 * the sessionguard access token (supabase-js's `accessToken` option), so RLS sees the
 * Clerk user as `sub` and the session as `sid`. Needs `supabase={{ url, anonKey }}` on
 * the provider and `@supabase/supabase-js` installed.
 *
 * The client also listens on the session's announcement channel (`listenForRevocation`):
 * when the server ends this session, every channel is removed and the session ends here,
 * and any other announcement (a sign-in elsewhere, a device signed out) reloads the
 * provider's device and event lists at once rather than at their next poll.
 * `supabase={{ ..., closeOnRevocation: false }}` turns that off.
 */
import { listenForRevocation } from "@sessionguard/client";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { useSessionGuardContext } from "./provider.tsx";
import { announceChange } from "./use-resource.ts";

export function useSupabaseClient(): SupabaseClient {
  const context = useSessionGuardContext("useSupabaseClient");
  const { supabase, client, supabaseClient } = context;
  if (!supabase) {
    throw new Error("useSupabaseClient needs <SessionGuardProvider supabase={{ url, anonKey }}>");
  }
  if (!supabaseClient.current) {
    const created = createClient(supabase.url, supabase.anonKey, {
      ...supabase.options,
      // With accessToken set, supabase-js turns off supabase.auth: sessionguard is the auth.
      accessToken: () => client.getAccessToken(),
    });
    // Once per provider, like the client itself; it lives as long as the session client.
    if (supabase.closeOnRevocation !== false) {
      listenForRevocation(client, created, { onAnnouncement: () => announceChange(client) });
    }
    supabaseClient.current = created;
  }
  return supabaseClient.current as SupabaseClient;
}
