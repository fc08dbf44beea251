/**
 * sessionguard client SDK: rotating, theft-detecting sessions for apps that sign in
 * with Clerk and keep their data in Supabase. See packages/client/README.md.
 */
export { createSessionClient } from "./client.ts";
export type { SessionOrganization } from "./claims.ts";
export type { SessionClient } from "./client.ts";
export type { DeviceBinding, SessionClientOptions } from "./client-options.ts";
export { deviceKey } from "./dpop-proof.ts";
export type { DeviceKey } from "./dpop-proof.ts";
export { localCoordinator, webCoordinator } from "./coordination.ts";
export type { Coordinator, TabMessage } from "./coordination.ts";
export { isSessionError, SERVER_ERROR_CODES, SessionError } from "./errors.ts";
export type { ClientErrorCode, ServerErrorCode, SessionErrorCode } from "./errors.ts";
export type { SessionEvents, SignedOutReason } from "./events.ts";
export { defaultKeyStore, dpopSupported, fileKeyStore, indexedDbKeyStore, memoryKeyStore } from "./key-store.ts";
export type { DpopKeyStore } from "./key-store.ts";
export { endingReason, listenForRevocation } from "./revocation-channel.ts";
export type {
  Announcement,
  RevocationChannel,
  RevocationListenerOptions,
  RevocationSupabase,
} from "./revocation-channel.ts";
export { defaultStorage, indexedDbStorage, keyValueStorage, memoryStorage } from "./storage.ts";
export type { KeyValueStore, StorageAdapter } from "./storage.ts";
export type {
  DeviceSession,
  SecurityEvent,
  SecurityEventType,
  SessionInfo,
  SignOutScope,
  StoredSession,
  TokenResponse,
} from "./types.ts";
