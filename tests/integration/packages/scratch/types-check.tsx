// Type-checked by tsc in the scratch project: the packages' declarations must resolve
// (a wrong use below is an error; were the types `any`, the @ts-expect-error lines would fail).
import { createSessionClient, type DeviceSession, SessionError, type SessionInfo } from "@sessionguard/client";
import {
  DeviceList,
  SecurityEvents,
  SessionGuardProvider,
  useDevices,
  useSecurityEvents,
  useSession,
  useSupabaseClient,
} from "@sessionguard/react";
import { ClerkSessionSync, useClerkSessionSync } from "@sessionguard/react/clerk";

const client = createSessionClient({ url: "https://example.supabase.co/functions/v1/session" });
// @ts-expect-error url is required
createSessionClient({});

export function App() {
  return (
    <SessionGuardProvider client={client} supabase={{ url: "https://example.supabase.co", anonKey: "anon" }}>
      <ClerkSessionSync deviceName="Laptop" />
      <Account />
      <DeviceList title="Devices" headingLevel={3} />
      <SecurityEvents limit={5} />
    </SessionGuardProvider>
  );
}

function Account() {
  const { status, userId, signOut } = useSession();
  const { devices, revoke } = useDevices();
  const { events } = useSecurityEvents();
  const supabase = useSupabaseClient();
  const sync = useClerkSessionSync();
  const first: DeviceSession | undefined = devices[0];
  const kind: "loading" | "signed-in" | "signed-out" = status;
  // @ts-expect-error status is a closed union
  const wrong: "nope" = status;
  // @ts-expect-error signOut takes a scope, not a number
  void signOut(3);
  void revoke(first?.id ?? "");
  void supabase.from("notes").select("id");
  const info: SessionInfo | null = null;
  const err = new SessionError("not_found", "x");
  return <p>{userId}{kind}{wrong}{events.length}{sync.status}{String(info)}{err.code}</p>;
}

