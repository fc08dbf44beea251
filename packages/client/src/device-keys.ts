/**
 * The client's hold on device keys (DPoP): a fresh key for each new session when
 * binding is on, the key a bound session needs (from memory, else from the key store,
 * checked against the session's thumbprint), and its deletion when the session ends.
 * Keys are stored under `<storage key>:<thumbprint>`.
 */
import type { ClientSettings, DeviceBinding } from "./client-options.ts";
import { type DeviceKey, deviceKey, generateDeviceKey } from "./dpop-proof.ts";
import type { Persisted } from "./stored-session.ts";

/** The device keys of one client. */
export class DeviceKeys {
  readonly #settings: ClientSettings;
  /** The current session's device key, once loaded. */
  #signer: DeviceKey | null = null;
  #binding: DeviceBinding;

  constructor(settings: ClientSettings) {
    this.#settings = settings;
    this.#binding = settings.binding;
  }

  /** Whether the next sign-in binds, and if not, why (`client.deviceBinding`). */
  get binding(): DeviceBinding {
    return this.#binding;
  }

  /**
   * A key for a session about to start, already in the key store; null when binding is
   * off. Stored before `/start`, so a stored session never names a key that is not
   * there: when the store refuses it (IndexedDB blocked, say), this sign-in and the
   * next go unbound rather than bind a session that the next page load could not use.
   * One key per session: a new sign-in never reuses the key of an earlier one.
   */
  async create(): Promise<DeviceKey | null> {
    const { keyStore } = this.#settings;
    if (!this.#binding.bind || !keyStore) return null;
    const key = await deviceKey(
      await generateDeviceKey(keyStore.extractable),
    );
    try {
      await keyStore.set(this.#name(key.jkt), key.keys);
    } catch {
      this.#binding = Object.freeze({
        bind: false,
        reason: "key_store_failed",
      });
      return null;
    }
    return key;
  }

  /** Uses `key` (made by `create`, already stored) for the session just bound to it. */
  keep(key: DeviceKey): void {
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
