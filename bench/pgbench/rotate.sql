-- One refresh-token rotation per transaction: one prepared statement calling
-- sessionguard.rotate_session, as the edge function does. Client c owns families
-- c+1, c+1+clients, c+1+2*clients, ... and rotates one of them at random, so no two
-- clients ever contend for a row. The current generation is read in the same
-- statement (the function takes it from the presented token): one primary-key lookup
-- more than a real rotation.
\set k 1 + :client_id + :clients * random(0, :per - 1)
select r.result
from bench.fam b
join sessionguard.families f on f.id = b.id
cross join lateral sessionguard.rotate_session(
  p_session_id => b.id, p_generation => f.generation, p_ip => '127.0.0.1'::inet,
  p_user_agent => 'pgbench', p_idle_timeout => 604800, p_reuse_grace => 10,
  p_theft_scope => 'family') as r
where b.n = :k;
