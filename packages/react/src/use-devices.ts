/** `useDevices()`: the user's signed-in devices, revoke one, sign out everywhere else. */
import { useCallback } from "react";
import type { DeviceSession } from "@sessionguard/client";
import { useSessionGuardContext } from "./provider.tsx";
import { announceChange, type ResourceOptions, type ResourceState, useSessionResource } from "./use-resource.ts";

export interface UseDevicesResult extends ResourceState<DeviceSession[]> {
  /** The devices, `current: true` on this one; empty while loading or signed out. */
  devices: DeviceSession[];
  /** Ends one session; ending this device's signs out here. Rejects with a SessionError. */
  revoke(id: string): Promise<void>;
  /** Ends every session of the user but this one. Rejects with a SessionError. */
  signOutOthers(): Promise<void>;
}

/**
 * The devices, kept current by themselves (see {@link ResourceOptions}); after `revoke` and
 * `signOutOthers` every list of the same client loads again, security events included.
 */
export function useDevices(options?: ResourceOptions): UseDevicesResult {
  const { client } = useSessionGuardContext("useDevices");
  const resource = useSessionResource("useDevices", (c) => c.listSessions(), options);
  const { reload } = resource;
  const revoke = useCallback(async (id: string) => {
    const current = await client.getSession();
    await client.revokeSession(id);
    // Revoking this device signed us out, which clears the list by itself.
    if (current?.session_id !== id) {
      announceChange(client, reload);
      await reload();
    }
  }, [client, reload]);
  const signOutOthers = useCallback(async () => {
    await client.signOut("others");
    announceChange(client, reload);
    await reload();
  }, [client, reload]);
  return { ...resource, devices: resource.data ?? [], revoke, signOutOthers };
}
