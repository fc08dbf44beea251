/**
 * `createSessionClient`: the SDK's entry point. The client composes the parts, one
 * concern a file: options (client-options.ts), the session held and stored
 * (session-state.ts, stored-session.ts), HTTP and DPoP proofs (http.ts,
 * dpop-proof.ts), device keys (device-keys.ts), rotation (refresh.ts), the refresh
 * timer (refresh-timer.ts) and cross-tab coordination (coordination.ts). What is
 * here is the public API and the authenticated account calls.
 */
import {
  type ClientSettings,
  clientSettings,
  type DeviceBinding,
  type SessionClientOptions,
} from "./client-options.ts";
import { Account } from "./account.ts";
import { type SessionOrganization, updateClaims } from "./claims.ts";
import { DeviceKeys } from "./device-keys.ts";
import { errorFromResponse, SessionError } from "./errors.ts";
import type { SessionEvents, SignedOutReason } from "./events.ts";
import { Http, readTokenResponse } from "./http.ts";
import { endsSession, Refresher } from "./refresh.ts";
import { RefreshTimer } from "./refresh-timer.ts";
import { SessionState } from "./session-state.ts";
import {
  expiresAtMs,
  info,
  type Persisted,
  persisted,
} from "./stored-session.ts";
import type {
  DeviceSession,
  SecurityEvent,
  SessionInfo,
  SignOutScope,
} from "./types.ts";

export type {
  DeviceBinding,
  SessionClientOptions,
} from "./client-options.ts";

/** A client for one app's sessionguard session. Create one per page (or per process). */
export interface SessionClient {
  /** Exchanges a Clerk session token for a sessionguard session and stores it. */
  start(
    clerkToken: string,
    options?: { deviceName?: string },
  ): Promise<SessionInfo>;
  /**
   * A valid access token, refreshed first when it is within the margin of expiry; `null`
   * when signed out (also after the server ended the session: `signedOut` is emitted).
   * Rejects with a SessionError (`network_error`, `server_error`, ...) only when the
   * refresh failed for a reason that may pass and the current token has already expired.
   * Fits supabase-js's `accessToken` option as is.
   */
  getAccessToken(): Promise<string | null>;
  /** Rotates now, even when the access token is fresh. Rejects with the server's code. */
  refresh(): Promise<SessionInfo>;
  /** The signed-in session (ids and expiry only, no tokens), or null. */
  getSession(): Promise<SessionInfo | null>;
  /**
   * `local` ends this session, `others` every other session of the user, `global` all.
   * For `local` and `global` the session here is cleared even when the server call fails
   * (the promise then still rejects, so the app can say the server did not confirm).
   */
  signOut(scope?: SignOutScope): Promise<void>;
  /** The user's active sessions, `current: true` on this one. */
  listSessions(): Promise<DeviceSession[]>;
  /** Revokes one of the user's sessions; revoking this one signs out here. */
  revokeSession(id: string): Promise<void>;
  /** The user's security events, newest first. */
  listEvents(): Promise<SecurityEvent[]>;
  /**
   * Hands a fresh Clerk session token of the same Clerk session to `/claims` after an
   * organization switch or Clerk's reverification (claims.ts); stores the new access token.
   */
  updateClaims(clerkToken: string): Promise<SessionInfo & { organization: SessionOrganization | null }>;
  on<K extends keyof SessionEvents>(
    event: K,
    listener: (payload: SessionEvents[K]) => void,
  ): () => void;
  off<K extends keyof SessionEvents>(
    event: K,
    listener: (payload: SessionEvents[K]) => void,
  ): void;
  /** Stops timers and cross-tab listeners. The stored session stays. */
  close(): void;
  /**
   * Whether `start()` binds the session to a device key (DPoP), and if not, why. Binding
   * is the default wherever the platform allows; where it does not, the client goes
   * unbound and says so here (read it once after creating the client, or after
   * `start()`: a key store that fails at sign-in turns it off with `key_store_failed`).
   * The server binds only when it allows DPoP (`SESSION_DPOP`).
   */
  readonly deviceBinding: DeviceBinding;
}

export function createSessionClient(
  options: SessionClientOptions,
): SessionClient {
  return new SessionClientImpl(options);
}

/** Each client's way to end a session the server announced as over (revocation-channel.ts). */
const announcedEnds = new WeakMap<
  SessionClient,
  (sessionId: string, reason: SignedOutReason) => Promise<boolean>
>();

/**
 * @internal Ends the session `sessionId` here without asking the server, as a refused
 * refresh does (storage cleared, the device key forgotten, the other tabs told,
 * `signedOut` emitted); nothing happens if the client holds another session or none by
 * now. True when it ended it. Undefined for a client this module did not create.
 */
export function announcedEnd(
  client: SessionClient,
): ((sessionId: string, reason: SignedOutReason) => Promise<boolean>) | undefined {
  return announcedEnds.get(client);
}

class SessionClientImpl implements SessionClient {
  readonly #settings: ClientSettings;
  readonly #keys: DeviceKeys;
  readonly #http: Http;
  readonly #state: SessionState;
  readonly #refresher: Refresher;
  readonly #timer: RefreshTimer;
  readonly #account: Account;

  constructor(options: SessionClientOptions) {
    this.#settings = clientSettings(options);
    this.#keys = new DeviceKeys(this.#settings);
    this.#http = new Http(this.#settings);
    // Every change of the session re-arms the refresh timer.
    this.#state = new SessionState(
      this.#settings,
      this.#keys,
      () => this.#timer.schedule(),
    );
    this.#refresher = new Refresher(
      this.#settings,
      this.#state,
      this.#keys,
      this.#http,
    );
    this.#timer = new RefreshTimer(
      this.#settings,
      this.#state,
      this.#refresher,
    );
    this.#account = new Account({
      state: this.#state,
      keys: this.#keys,
      http: this.#http,
      refresher: this.#refresher,
      accessToken: () => this.getAccessToken(),
    });
    announcedEnds.set(this, (sessionId, reason) => this.#endAnnounced(sessionId, reason));
  }

  async #endAnnounced(sessionId: string, reason: SignedOutReason): Promise<boolean> {
    await this.#state.load();
    // Read and ended in one turn: end() ends whatever is current when it is called.
    if (this.#state.current?.session_id !== sessionId) return false;
    const error = reason === "refresh_token_reused"
      ? new SessionError("refresh_token_reused", "the server announced that a refresh token of this session was reused")
      : undefined;
    await this.#state.end(reason, error);
    return true;
  }

  get deviceBinding(): DeviceBinding {
    return this.#keys.binding;
  }

  async start(
    clerkToken: string,
    options: { deviceName?: string } = {},
  ): Promise<SessionInfo> {
    if (typeof clerkToken !== "string" || clerkToken === "") {
      throw new SessionError(
        "invalid_request",
        "a Clerk session token is required",
      );
    }
    const body = options.deviceName === undefined
      ? {}
      : { device_name: options.deviceName };
    const key = await this.#keys.create();
    let session: Persisted;
    try {
      // Not retried on network errors: /start is not idempotent, a retry could open a
      // second session. (A use_dpop_nonce answer started nothing, so that one is retried.)
      const res = await this.#http.exchange("POST", "/start", {
        token: clerkToken,
        body,
        signer: key,
      });
      if (!res.ok) throw await errorFromResponse(res);
      session = persisted(await readTokenResponse(res), this.#settings.now());
    } catch (err) {
      if (key) await this.#keys.forget(key.jkt);
      throw err;
    }
    await this.#state.locked(async () => {
      // Under the lock: a refresh of the session this one replaces, finishing in another
      // tab, is stored before this write, never after it.
      const previous = await this.#state.read();
      if (key) {
        // The server binds only when it allows DPoP (SESSION_DPOP).
        if (session.dpop_jkt === key.jkt) this.#keys.keep(key);
        else await this.#keys.forget(key.jkt);
      }
      await this.#state.save(session);
      if (previous?.dpop_jkt && previous.dpop_jkt !== session.dpop_jkt) {
        await this.#keys.forget(previous.dpop_jkt);
      }
      this.#state.publish({ type: "signedIn", from: this.#state.id, session });
    });
    this.#state.events.emit("signedIn", {
      session: info(session),
      source: "this",
    });
    return info(session);
  }

  async getAccessToken(): Promise<string | null> {
    const current = await this.#state.load();
    if (!current) return null;
    if (!this.#refresher.due(current)) return current.access_token;
    try {
      const fresh = await this.#refresher.refresh(current, false);
      return fresh?.access_token ?? null;
    } catch (err) {
      if (endsSession(err)) return null;
      // A transient failure inside the margin: the token we hold is still good.
      if (this.#settings.now() < expiresAtMs(current)) {
        return current.access_token;
      }
      throw err;
    }
  }

  async refresh(): Promise<SessionInfo> {
    const current = await this.#state.load();
    if (!current) {
      throw new SessionError("not_signed_in", "no session to refresh");
    }
    const fresh = await this.#refresher.refresh(current, true);
    if (!fresh) {
      throw new SessionError("not_signed_in", "signed out while refreshing");
    }
    return info(fresh);
  }

  async getSession(): Promise<SessionInfo | null> {
    const current = await this.#state.load();
    return current ? info(current) : null;
  }

  signOut(scope: SignOutScope = "local"): Promise<void> {
    return this.#account.signOut(scope);
  }

  listSessions(): Promise<DeviceSession[]> {
    return this.#account.listSessions();
  }

  revokeSession(id: string): Promise<void> {
    return this.#account.revokeSession(id);
  }

  listEvents(): Promise<SecurityEvent[]> {
    return this.#account.listEvents();
  }

  updateClaims(clerkToken: string): Promise<SessionInfo & { organization: SessionOrganization | null }> {
    return updateClaims({
      settings: this.#settings,
      state: this.#state,
      keys: this.#keys,
      http: this.#http,
      accessToken: () => this.getAccessToken(),
    }, clerkToken);
  }

  on<K extends keyof SessionEvents>(
    event: K,
    listener: (payload: SessionEvents[K]) => void,
  ): () => void {
    return this.#state.events.on(event, listener);
  }

  off<K extends keyof SessionEvents>(
    event: K,
    listener: (payload: SessionEvents[K]) => void,
  ): void {
    this.#state.events.off(event, listener);
  }

  close(): void {
    this.#timer.stop();
    this.#state.close();
  }
}
