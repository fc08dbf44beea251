/**
 * A durable Postgres storage adapter for oidc-provider, as a production
 * deployment would write one: every model in one table, one statement per
 * adapter call, each committed on its own (autocommit) against the bench's
 * durable cluster (fsync, synchronous_commit and full-page writes on).
 *
 * It implements the adapter interface oidc-provider documents (upsert, find,
 * findByUid, findByUserCode, consume, destroy, revokeByGrantId; see its
 * `lib/adapters/memory_adapter.js` and the "Adapter" section of
 * docs/README.md, oidc-provider 9.13.3), written here from that contract.
 * What the interface cannot express: `consume` is a plain update, not a
 * compare-and-set, so two concurrent refreshes that both `find` the token
 * before either consumes it both rotate (oidc-provider's refresh grant checks
 * `consumed` on the row it read). sessionguard's rotation is one compare-and-set.
 */
import postgres from "postgres";

type Payload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
};

/** The table; created by {@link preparePeerSchema}. */
const SCHEMA = `
  create schema if not exists oidc_peer;
  create table if not exists oidc_peer.payloads (
    model text not null,
    id text not null,
    payload jsonb not null,
    grant_id text,
    user_code text,
    uid text,
    expires_at timestamptz,
    consumed_at timestamptz,
    primary key (model, id)
  );
  create index if not exists payloads_grant_id_idx on oidc_peer.payloads (grant_id);
  create index if not exists payloads_uid_idx on oidc_peer.payloads (uid);
  create index if not exists payloads_user_code_idx on oidc_peer.payloads (user_code);
`;

let sql: postgres.Sql | undefined;

/** Opens the pool (size as the session function's) and creates the table. */
export async function preparePeerSchema(url: string): Promise<void> {
  sql = postgres(url, {
    max: 8,
    prepare: true,
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: "oidc-peer" },
  });
  await sql.unsafe(SCHEMA);
}

function db(): postgres.Sql {
  if (!sql) throw new Error("pg-adapter: preparePeerSchema() was not called");
  return sql;
}

export class PgAdapter {
  readonly #model: string;

  constructor(model: string) {
    this.#model = model;
  }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
    await db()`
      insert into oidc_peer.payloads (model, id, payload, grant_id, user_code, uid, expires_at)
      values (${this.#model}, ${id}, ${sql!.json(payload as postgres.JSONValue)}, ${payload.grantId ?? null},
        ${payload.userCode ?? null}, ${payload.uid ?? null}, ${expiresAt})
      on conflict (model, id) do update
        set payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
            uid = excluded.uid, expires_at = excluded.expires_at`;
  }

  find(id: string): Promise<Payload | undefined> {
    return this.#findBy("id", id);
  }

  findByUid(uid: string): Promise<Payload | undefined> {
    return this.#findBy("uid", uid);
  }

  findByUserCode(userCode: string): Promise<Payload | undefined> {
    return this.#findBy("user_code", userCode);
  }

  async #findBy(column: "id" | "uid" | "user_code", value: string): Promise<Payload | undefined> {
    const [row] = await db()<{ payload: Payload; consumed_at: Date | null }[]>`
      select payload, consumed_at from oidc_peer.payloads
      where model = ${this.#model} and ${sql!(column)} = ${value} and (expires_at is null or expires_at > now())`;
    if (!row) return undefined;
    return row.consumed_at ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : row.payload;
  }

  async consume(id: string): Promise<void> {
    await db()`
      update oidc_peer.payloads set consumed_at = now() where model = ${this.#model} and id = ${id}`;
  }

  async destroy(id: string): Promise<void> {
    await db()`delete from oidc_peer.payloads where model = ${this.#model} and id = ${id}`;
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await db()`delete from oidc_peer.payloads where grant_id = ${grantId}`;
  }
}
