/**
 * The `Authorization` header: the one parser for a credential in it. `/start`
 * takes a Clerk session token as `Bearer`; the account routes take an access
 * token as `Bearer` or, bound to a device key, `DPoP` (RFC 9449 §7.1).
 */
import { ApiError } from "./errors.ts";

/** Longest credential read from the header. */
const MAX_CREDENTIAL_LENGTH = 8192;
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const BEARER_OR_DPOP = /^(?:Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The bearer token of the header; `invalid_token` when there is none. */
export function bearerToken(request: Request): string {
  return credential(request, BEARER, "no bearer token");
}

/** The access token of a `Bearer …` or `DPoP …` header; `invalid_token` when there is none. */
export function accessToken(request: Request): string {
  return credential(request, BEARER_OR_DPOP, "no access token");
}

function credential(request: Request, pattern: RegExp, missing: string): string {
  const header = request.headers.get("authorization") ?? "";
  const match = pattern.exec(header);
  if (!match || match[1].length > MAX_CREDENTIAL_LENGTH) {
    throw new ApiError("invalid_token", { detail: header ? "malformed Authorization header" : missing });
  }
  return match[1];
}
