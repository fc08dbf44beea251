-- One refresh-token rotation per transaction: one prepared statement calling
-- sessionguard.refresh_session with rate limits off (SESSION_RATE_LIMITS=off), as the
-- edge function does. Client c owns families c+1, c+1+clients, c+1+2*clients, ... and
-- rotates one of them at random, so no two clients ever contend for a row. The current
-- generation is read in the same statement (the function takes it from the presented
-- token): one primary-key lookup more than a real rotation.
\set k 1 + :client_id + :clients * random(0, :per - 1)
select r.result
from bench.fam b
join sessionguard.families f on f.id = b.id
cross join lateral sessionguard.refresh_session(
  p_session_id => b.id, p_generation => f.generation,
  p_policy => '{"idle_timeout": 604800, "reuse_grace": 10, "theft_scope": "family", "dpop_lifetime": 300,
    "dpop_mismatch": "refuse", "rate_limit": null, "ip_rate_limit": null}',
  p_ip => '127.0.0.1'::inet, p_user_agent => 'pgbench') as r
where b.n = :k;
