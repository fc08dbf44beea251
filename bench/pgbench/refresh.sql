-- One refresh per transaction as the edge function sends it with the default limits:
-- sessionguard.refresh_session counts the family's and the ip's budgets, then rotates.
-- Families are picked as in rotate.sql; the limits are set high enough that the bench
-- never hits them, so every call rotates; each family has its own address, so no two
-- clients count the same ip.
\set k 1 + :client_id + :clients * random(0, :per - 1)
select r.result
from bench.fam b
join sessionguard.families f on f.id = b.id
cross join lateral sessionguard.refresh_session(
  p_session_id => b.id, p_generation => f.generation,
  p_policy => '{"idle_timeout": 604800, "reuse_grace": 10, "theft_scope": "family", "dpop_lifetime": 300,
    "dpop_mismatch": "refuse", "rate_limit": {"count": 1000000, "seconds": 60}, "ip_rate_limit": 1000000}',
  p_ip => ('10.' || b.n / 65536 || '.' || b.n / 256 % 256 || '.' || b.n % 256)::inet,
  p_user_agent => 'pgbench') as r
where b.n = :k;
