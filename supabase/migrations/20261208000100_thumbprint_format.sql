-- sessionguard: the JWK thumbprint format, named once.
--
-- An RFC 7638 SHA-256 thumbprint, base64url without padding, is 43 characters of the
-- URL-safe alphabet (functions/formats.ts says the same for TypeScript). The released
-- migrations spell the pattern out where they check it; from here on it has one
-- definition, `is_jwk_thumbprint`, which every later check calls.
--
-- Not a domain on the columns: the released functions return these columns through
-- `returns table (... dpop_jkt text ...)` with `return query`, which requires the exact
-- declared type, so a domain-typed column would break every one of them.
--
-- Order: the check function, the proofs' constraint on it, grants.

create function sessionguard.is_jwk_thumbprint(p_value text)
returns boolean
language sql
immutable
strict
parallel safe
set search_path = ''
return p_value ~ '^[A-Za-z0-9_-]{43}$';
comment on function sessionguard.is_jwk_thumbprint(text) is
  'True when the text is an RFC 7638 SHA-256 JWK thumbprint (43 base64url characters); null for null.';

-- Same name, same rule, now stated by the function. Validated at once: every stored
-- proof id already passes it.
alter table sessionguard.dpop_proofs
  drop constraint dpop_proofs_jkt_check,
  add constraint dpop_proofs_jkt_check check (sessionguard.is_jwk_thumbprint(jkt));

-- grants: the check runs as whoever writes the row, and only sessionguard's own functions
-- (owned by the migration role) write proof ids.
revoke execute on function sessionguard.is_jwk_thumbprint(text) from public, anon, authenticated;
