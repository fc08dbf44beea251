-- One refresh per transaction as the edge function sends it with the default limits:
-- sessionguard.refresh_session counts the family's and the ip's rate limits, then
-- rotates. Families are picked as in rotate.sql; the limits are set high enough that
-- the bench never hits them, so every call rotates; each family has its own address,
-- so no two clients count the same ip.
\set k 1 + :client_id + :clients * random(0, :per - 1)
select r.result
from bench.fam b
join sessionguard.families f on f.id = b.id
cross join lateral sessionguard.refresh_session(
  p_session_id => b.id, p_generation => f.generation,
  p_ip => ('10.' || b.n / 65536 || '.' || b.n / 256 % 256 || '.' || b.n % 256)::inet,
  p_user_agent => 'pgbench', p_idle_timeout => 604800, p_reuse_grace => 10,
  p_theft_scope => 'family', p_rate_limit => 1000000, p_rate_window => 60,
  p_ip_rate_limit => 1000000) as r
where b.n = :k;
