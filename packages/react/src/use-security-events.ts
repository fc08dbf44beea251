/** `useSecurityEvents()`: the user's security events (sign-ins, revocations, theft), newest first. */
import type { SecurityEvent } from "@sessionguard/client";
import { type ResourceOptions, type ResourceState, useSessionResource } from "./use-resource.ts";

export interface UseSecurityEventsResult extends ResourceState<SecurityEvent[]> {
  /** The events, newest first; empty while loading or signed out. */
  events: SecurityEvent[];
}

/** The events, kept current by themselves (see {@link ResourceOptions}). */
export function useSecurityEvents(options?: ResourceOptions): UseSecurityEventsResult {
  const resource = useSessionResource("useSecurityEvents", (c) => c.listEvents(), options);
  return { ...resource, events: resource.data ?? [] };
}
