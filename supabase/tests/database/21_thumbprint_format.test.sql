-- The JWK thumbprint format has one definition (migration 20261208000100): the check
-- function, and the proof ids' constraint on it.
begin;
select plan(12);

select ok(sessionguard.is_jwk_thumbprint(repeat('k', 43)), '43 base64url characters are a thumbprint');
select ok(sessionguard.is_jwk_thumbprint('Ab_-' || repeat('9', 39)), 'the URL-safe alphabet, digits, - and _ included');
select ok(not sessionguard.is_jwk_thumbprint(repeat('k', 42)), '42 characters are not');
select ok(not sessionguard.is_jwk_thumbprint(repeat('k', 44)), '44 characters are not');
select ok(not sessionguard.is_jwk_thumbprint(repeat('k', 42) || '='), 'padding is not base64url');
select ok(not sessionguard.is_jwk_thumbprint(repeat('k', 42) || '+'), 'standard base64''s + is not');
select ok(not sessionguard.is_jwk_thumbprint(repeat('k', 43) || E'\n'), 'a trailing newline is not');
select is(sessionguard.is_jwk_thumbprint(null), null, 'null is neither');

select ok(
  pg_get_constraintdef((select oid from pg_constraint where conname = 'dpop_proofs_jkt_check'
                        and conrelid = 'sessionguard.dpop_proofs'::regclass)) ~ 'is_jwk_thumbprint',
  'the proof ids'' rule is the check function');
select lives_ok(
  $$ insert into sessionguard.dpop_proofs (jkt, jti, expires_at) values (repeat('k', 43), 'sg-format', now()) $$,
  'a proof id under a thumbprint is stored');

select throws_ok(
  $$ insert into sessionguard.dpop_proofs (jkt, jti, expires_at) values ('not-a-thumbprint', 'j', now()) $$,
  '23514', null, 'a proof id under a malformed thumbprint is refused');

select ok(
  not has_function_privilege('authenticated', 'sessionguard.is_jwk_thumbprint(text)', 'execute')
  and not has_function_privilege('anon', 'sessionguard.is_jwk_thumbprint(text)', 'execute'),
  'the API roles cannot call the check directly');

select * from finish();
rollback;
