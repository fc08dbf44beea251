/**
 * The read-replica setup that `npm run bench:replica` measures works: a streaming
 * physical replica of a PostgreSQL 15 primary (scripts/lib/replica.ts) is read-only and
 * sees a revocation made on the primary, so session_active() there turns false. How fast
 * is measured by the benchmark, never asserted here.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import postgres from "postgres";
import { type Database, startDatabase } from "../../../scripts/lib/local-postgres.ts";
import { type Replica, startReplica } from "../../../scripts/lib/replica.ts";

let primaryDb: Database;
let replica: Replica;
let primary: postgres.Sql;
let standby: postgres.Sql;

beforeAll(async () => {
  primaryDb = await startDatabase({ version: 15, ephemeral: true, name: "replica-test" });
  replica = await startReplica(primaryDb.url);
  primary = postgres(primaryDb.url, { max: 2, onnotice: () => {} });
  standby = postgres(replica.url, { max: 1, onnotice: () => {} });
}, 180_000);

afterAll(async () => {
  await standby?.end();
  await primary?.end();
  await replica?.stop();
  await primaryDb?.stop();
});

/** session_active() on the replica for these claims, polled until it answers `wanted` (30 s at most). */
async function replicaAnswers(claims: object, wanted: boolean): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [row] = await standby.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
      return await tx`select sessionguard.session_active() as active`;
    });
    if (row!.active === wanted || Date.now() > deadline) return row!.active as boolean;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it("the replica is a read-only standby", async () => {
  const [row] = await standby`select pg_is_in_recovery() as standby`;
  expect(row!.standby).toBe(true);
  await expect(standby`select sessionguard.start_session('user_ro', 'sess_ro', 'x', null, null, 60, 600)`)
    .rejects.toMatchObject({ code: "25006" });
}, 30_000);

it(
  "a session started on the primary turns live on the replica, and a revocation there turns it dead",
  async () => {
    const user = `user_replica_${Date.now()}`;
    const [started] = await primary`
    select session_id from sessionguard.start_session(${user}, 'sess_replica', 'Laptop', null, null, 3600, 86400)`;
    const claims = { sub: user, sid: started!.session_id, role: "authenticated" };
    expect(await replicaAnswers(claims, true)).toBe(true);
    const [revoked] = await primary`select sessionguard.revoke_session(${user}, ${
      started!.session_id
    }::uuid) as ok`;
    expect(revoked!.ok).toBe(true);
    expect(await replicaAnswers(claims, false)).toBe(false);
    // Another user's claims with that sid were never live there.
    expect(await replicaAnswers({ ...claims, sub: `${user}_other` }, false)).toBe(false);
  },
  60_000,
);
