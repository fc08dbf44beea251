/** `useSecurityEvents()`: the user's security events (sign-ins, revocations, theft), newest first. */
import type { SecurityEvent } from "@sessionguard/client";
import { type ResourceState, useSessionResource } from "./use-resource.ts";

export interface UseSecurityEventsResult extends ResourceState<SecurityEvent[]> {
  /** The events, newest first; empty while loading or signed out. */
  events: SecurityEvent[];
}

export function useSecurityEvents(): UseSecurityEventsResult {
  const resource = useSessionResource("useSecurityEvents", (c) => c.listEvents());
  return { ...resource, events: resource.data ?? [] };
}
