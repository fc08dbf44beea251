/**
 * @sessionguard/react: React 19 bindings for the sessionguard client SDK. Safe to import
 * in server rendering: nothing here touches `window`, storage or timers until a
 * component mounts in the browser. The Clerk glue lives in `@sessionguard/react/clerk`.
 */
export { SessionGuardProvider, useSessionClient } from "./provider.tsx";
export type { SessionGuardProviderProps, SupabaseSettings } from "./provider.tsx";
export { useSession } from "./use-session.ts";
export type { UseSessionResult } from "./use-session.ts";
export type { SessionSnapshot, SessionStatus } from "./store.ts";
export { useSupabaseClient } from "./use-supabase-client.ts";
export { useDevices } from "./use-devices.ts";
export type { UseDevicesResult } from "./use-devices.ts";
export { useSecurityEvents } from "./use-security-events.ts";
export type { UseSecurityEventsResult } from "./use-security-events.ts";
export type { ListHandle, ResourceOptions, ResourceState, ResourceStatus } from "./use-resource.ts";
export { DeviceList, deviceLabel } from "./device-list.tsx";
export type { DeviceListMessages, DeviceListProps } from "./device-list.tsx";
export { SecurityEvents } from "./security-events.tsx";
export type { SecurityEventsProps } from "./security-events.tsx";
export { useSessionSync } from "./session-sync.ts";
export type { IdentityState, SessionSyncOptions, SessionSyncState } from "./session-sync.ts";
export { describeBrowser, describeError, describeSignOut, describeUserAgent, formatTime } from "./messages.ts";
