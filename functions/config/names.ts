/**
 * Every setting the functions' parsers read (functions/config.ts and functions/config/*),
 * in one list: the local stack passes exactly these on and warns about any other name in
 * `.env` (scripts/stack/env.ts). tests/unit/config-names.test.ts keeps it equal to what
 * the parsers read, so a new setting cannot be silently dropped by `npm start` again.
 */
export const FUNCTION_SETTINGS = [
  "ALLOWED_ORIGINS",
  "CLERK_API_URL",
  "CLERK_AUTHORIZED_PARTIES",
  "CLERK_ISSUER",
  "CLERK_JWKS_URL",
  "CLERK_JWT_KEY",
  "CLERK_SECRET_KEY",
  "CLERK_WEBHOOK_SECRET",
  "DATABASE_URL",
  "SECURITY_WEBHOOK_SECRET",
  "SECURITY_WEBHOOK_URL",
  "SESSION_ABSOLUTE_LIFETIME",
  "SESSION_ACCESS_TTL",
  "SESSION_CLIENT_IP",
  "SESSION_DB_PREPARE",
  "SESSION_DPOP",
  "SESSION_DPOP_MISMATCH",
  "SESSION_DPOP_NONCE",
  "SESSION_FORWARDING_KEYS",
  "SESSION_IDLE_TIMEOUT",
  "SESSION_IMPERSONATION_LIFETIME",
  "SESSION_ISSUER",
  "SESSION_JWT_KID",
  "SESSION_JWT_SECRET",
  "SESSION_MAX_PER_USER",
  "SESSION_MAX_PER_USER_MODE",
  "SESSION_ORG_REMOVED",
  "SESSION_PUBLIC_URL",
  "SESSION_RATE_LIMITS",
  "SESSION_REFRESH_SECRET",
  "SESSION_REUSE_GRACE",
  "SESSION_SIGNER",
  "SESSION_SIGNING_JWK",
  "SESSION_THEFT_SCOPE",
  "SUPABASE_DB_URL",
  "SUPABASE_URL",
] as const;

export type FunctionSetting = (typeof FUNCTION_SETTINGS)[number];
