/**
 * Scenario 7's bulk load: live families (idle and absolute expiry ahead) and
 * revoked ones (2 days past revocation, so past the 1-day retention and
 * awaiting purge) inserted straight into `sessionguard.families` in chunks,
 * triggers off, so no start events and every family at generation 0.
 */
import type { Sql } from "../lib/database.ts";
import { progress } from "../lib/log.ts";

/** Families per insert statement. */
const CHUNK = 1_000_000;

/** Adds live and revoked families until the table holds `live` and `revoked` of them. */
export async function load(sql: Sql, live: number, revoked: number, have: { live: number; revoked: number }) {
  const chunks: { kind: "live" | "revoked"; from: number; to: number }[] = [];
  for (let from = have.live + 1; from <= live; from += CHUNK) {
    chunks.push({ kind: "live", from, to: Math.min(live, from + CHUNK - 1) });
  }
  for (let from = have.revoked + 1; from <= revoked; from += CHUNK) {
    chunks.push({ kind: "revoked", from, to: Math.min(revoked, from + CHUNK - 1) });
  }
  let done = 0;
  const total = live - have.live + revoked - have.revoked;
  // Two loaders at once: one per core. Each chunk is inserted in id order, which
  // keeps index insertion local without making ids any less random.
  const worker = async () => {
    for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
      await sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`set local synchronous_commit = off`;
        await tx`set local work_mem = '256MB'`;
        if (chunk.kind === "live") {
          await tx`
            insert into sessionguard.families (id, user_id, device_name, user_agent, ip,
              created_at, last_active_at, idle_expires_at, expires_at)
            select id, 'user_live_' || g, 'bench', 'bench', '203.0.113.7',
              now(), now(), now() + interval '7 days', now() + interval '30 days'
            from (select gen_random_uuid() as id, g from generate_series(${chunk.from}::int, ${chunk.to}::int) g) s
            order by id`;
        } else {
          await tx`
            insert into sessionguard.families (id, user_id, device_name, user_agent, ip,
              created_at, last_active_at, idle_expires_at, expires_at, revoked_at, revoked_reason)
            select id, 'user_gone_' || g, 'bench', 'bench', '203.0.113.7',
              now() - interval '10 days', now() - interval '3 days', now() - interval '3 days',
              now() + interval '20 days', now() - interval '2 days', 'signed_out'
            from (select gen_random_uuid() as id, g from generate_series(${chunk.from}::int, ${chunk.to}::int) g) s
            order by id`;
        }
      });
      done += chunk.to - chunk.from + 1;
      progress("growth", `loaded ${done.toLocaleString("en")} of ${total.toLocaleString("en")} families`);
    }
  };
  await Promise.all([worker(), worker()]);
}
