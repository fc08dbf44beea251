/**
 * The client's hold on device keys (DPoP): a fresh key for each new session when
 * binding is on, the key a bound session needs (from memory, else from the key store,
 * checked against the session's thumbprint), and its deletion when the session ends.
 * Keys are stored under `<storage key>:<thumbprint>`.
 */
import type { ClientSettings } from "./client-options.ts";
import { type DeviceKey, deviceKey, generateDeviceKey } from "./dpop-proof.ts";
import type { Persisted } from "./stored-session.ts";

/** The device keys of one client. */
export class DeviceKeys {
  readonly #settings: ClientSettings;
  /** The current session's device key, once loaded. */
  #signer: DeviceKey | null = null;

  constructor(settings: ClientSettings) {
    this.#settings = settings;
  }

  /**
   * A key for a session about to start, or null when binding is off. One key per
   * session: a new sign-in never reuses the key of an earlier one.
   */
  async create(): Promise<DeviceKey | null> {
    const { bind, keyStore } = this.#settings;
    return bind && keyStore
      ? await deviceKey(await generateDeviceKey(keyStore.extractable))
      : null;
  }

  /**
   * Keeps `key` for the session just bound to it. Called before the session is stored,
   * so a stored session never names a key that is not there. Should the key store fail,
   * the key still serves this page until it is closed.
   */
  async keep(key: DeviceKey): Promise<void> {
    await this.#settings.keyStore?.set(this.#name(key.jkt), key.keys).catch(
      () => {},
    );
    this.#signer = key;
  }

  /** The device key a bound session needs, from memory or the key store; null when missing. */
  async signerFor(session: Persisted): Promise<DeviceKey | null> {
    const jkt = session.dpop_jkt;
    const store = this.#settings.keyStore;
    if (!jkt || !store) return null;
    if (this.#signer?.jkt === jkt) return this.#signer;
    const keys = await store.get(this.#name(jkt)).catch(() => null);
    if (!keys) return null;
    const key = await deviceKey(keys);
    if (key.jkt !== jkt) return null;
    this.#signer = key;
    return key;
  }

  /** Deletes a session's device key: it can never serve another session. */
  async forget(jkt: string): Promise<void> {
    if (this.#signer?.jkt === jkt) this.#signer = null;
    await this.#settings.keyStore?.remove(this.#name(jkt)).catch(() => {});
  }

  /** Lets go of the key held in memory (the session ended; the store is left alone). */
  release(): void {
    this.#signer = null;
  }

  #name(jkt: string): string {
    return `${this.#settings.storageKey}:${jkt}`;
  }
}
