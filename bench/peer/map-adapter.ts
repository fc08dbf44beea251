/**
 * An unbounded in-memory storage adapter for oidc-provider.
 *
 * The provider's built-in development adapter is an LRU of 1,000 entries per
 * generation: under load it evicts refresh tokens that are still live (a
 * connection that waits half a second while others mint thousands of tokens
 * finds its token gone and gets invalid_grant). This one keeps every entry
 * until it is destroyed, like a real store would until expiry, and is just as
 * non-durable. It implements the adapter interface oidc-provider documents:
 * upsert, find, findByUid, findByUserCode, consume, destroy, revokeByGrantId.
 */

type Payload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
};

const models = new Map<string, Map<string, Payload>>();
/** grant id → the entries issued under it, as "model\0id". */
const grants = new Map<string, Set<string>>();

export class MapAdapter {
  readonly #name: string;
  readonly #entries: Map<string, Payload>;

  constructor(name: string) {
    this.#name = name;
    let entries = models.get(name);
    if (!entries) models.set(name, entries = new Map());
    this.#entries = entries;
  }

  upsert(id: string, payload: Payload): Promise<void> {
    this.#entries.set(id, { ...payload });
    if (typeof payload.grantId === "string") {
      let members = grants.get(payload.grantId);
      if (!members) grants.set(payload.grantId, members = new Set());
      members.add(`${this.#name}\0${id}`);
    }
    return Promise.resolve();
  }

  find(id: string): Promise<Payload | undefined> {
    return Promise.resolve(this.#entries.get(id));
  }

  findByUid(uid: string): Promise<Payload | undefined> {
    for (const payload of this.#entries.values()) if (payload.uid === uid) return Promise.resolve(payload);
    return Promise.resolve(undefined);
  }

  findByUserCode(userCode: string): Promise<Payload | undefined> {
    for (const payload of this.#entries.values()) {
      if (payload.userCode === userCode) return Promise.resolve(payload);
    }
    return Promise.resolve(undefined);
  }

  consume(id: string): Promise<void> {
    const payload = this.#entries.get(id);
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    return Promise.resolve();
  }

  destroy(id: string): Promise<void> {
    this.#entries.delete(id);
    return Promise.resolve();
  }

  revokeByGrantId(grantId: string): Promise<void> {
    for (const member of grants.get(grantId) ?? []) {
      const [model, id] = member.split("\0");
      models.get(model)?.delete(id);
    }
    grants.delete(grantId);
    return Promise.resolve();
  }
}
