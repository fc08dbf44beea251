/**
 * SPEC's closed set of error codes and their statuses ("HTTP API", Errors),
 * written out here as the tests' oracle, independent of functions/errors.ts.
 * `server_error` is 500 or 503.
 */
export const SPEC_STATUS: Readonly<Record<string, number>> = Object.freeze({
  invalid_request: 400,
  invalid_token: 401,
  invalid_refresh_token: 401,
  refresh_token_reused: 401,
  session_revoked: 401,
  session_expired: 401,
  invalid_dpop_proof: 401,
  use_dpop_nonce: 401,
  invalid_signature: 401,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  server_error: 500,
});
