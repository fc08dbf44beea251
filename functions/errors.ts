/**
 * The closed set of error codes sessionguard answers with, each mapped to its
 * HTTP status in exactly one place.
 *
 * A client sees `{"error": code, "error_description": text}` and nothing more:
 * the public description is fixed per code (or chosen by the caller from safe
 * wording), while `detail` — which JWT check failed, what Postgres said — goes
 * only to the log. Anything that is not an {@link ApiError} becomes
 * `server_error`.
 */
import type { Env as HonoEnv, Hono, HonoRequest } from "hono";
import { describe } from "./describe-error.ts";

/** Every error code of the HTTP API (docs/contract.md, "Errors"). */
export type ErrorCode =
  | "invalid_request"
  | "invalid_token"
  | "invalid_refresh_token"
  | "refresh_token_reused"
  | "session_revoked"
  | "session_expired"
  | "invalid_dpop_proof"
  | "use_dpop_nonce"
  | "invalid_signature"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "server_error";

const STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
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

const DESCRIPTION: Readonly<Record<ErrorCode, string>> = Object.freeze({
  invalid_request: "The request is malformed.",
  invalid_token: "The access token is missing, invalid or expired.",
  invalid_refresh_token: "The refresh token is invalid.",
  refresh_token_reused:
    "This refresh token was already used. The session has been signed out for your safety.",
  session_revoked: "The session has been signed out.",
  session_expired: "The session has expired. Sign in again.",
  invalid_dpop_proof: "The DPoP proof is missing or invalid.",
  use_dpop_nonce: "The DPoP proof must include the server-provided nonce.",
  invalid_signature: "The signature is invalid.",
  not_found: "Not found.",
  method_not_allowed: "This method is not allowed here.",
  payload_too_large: "The request body is too large.",
  unsupported_media_type: "The request body must be application/json.",
  rate_limited: "Too many requests. Try again later.",
  server_error: "Something went wrong on our side. Try again later.",
});

/** Every code in the closed set, for tests and exhaustive checks. */
export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(
  Object.keys(STATUS) as ErrorCode[],
);

/** Options of an {@link ApiError} beyond its code. */
export interface ApiErrorOptions {
  /** Safe text for the client; defaults to the code's fixed description. */
  description?: string;
  /** Internal reason, logged and never sent. */
  detail?: string;
  /** Extra response headers (`Allow`, `Retry-After`, `DPoP-Nonce`). */
  headers?: Record<string, string>;
  /** Override for the few codes that have two statuses (`server_error` 503). */
  status?: 500 | 503;
  cause?: unknown;
}

/** An error that is meant to reach the client as `code`. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly description: string;
  readonly detail: string | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, options: ApiErrorOptions = {}) {
    super(options.detail ?? code, { cause: options.cause });
    this.name = "ApiError";
    this.code = code;
    this.status = code === "server_error" && options.status ? options.status : STATUS[code];
    this.description = options.description ?? DESCRIPTION[code];
    this.detail = options.detail;
    this.headers = Object.freeze({ ...options.headers });
  }
}

/** Turns anything thrown into an {@link ApiError}; unknown errors become `server_error`. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError("server_error", {
    detail: describe(error),
    cause: error,
  });
}

/**
 * Renders an error as the API's JSON error response. Every 401 carries a
 * `WWW-Authenticate` challenge naming the code (RFC 6750 §3), and 503 a
 * `Retry-After`.
 */
export function errorResponse(error: ApiError): Response {
  const headers = new Headers(error.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("cache-control", "no-store");
  if (error.status === 401 && !headers.has("www-authenticate")) {
    const scheme = error.code === "invalid_dpop_proof" || error.code === "use_dpop_nonce" ? "DPoP" : "Bearer";
    headers.set("www-authenticate", `${scheme} realm="sessionguard", error="${error.code}"`);
  }
  if (error.status === 503 && !headers.has("retry-after")) headers.set("retry-after", "5");
  const body = JSON.stringify({ error: error.code, error_description: error.description });
  return new Response(body, { status: error.status, headers });
}

/** What {@link respondToError} logs about an error. */
export interface ErrorLogFields {
  readonly level: "info" | "error";
  readonly status: number;
  readonly code: string;
  readonly detail?: string;
}

/**
 * The error answers of a function's hono app: 404 `not_found` for any other
 * path, and {@link respondToError} for anything thrown, logged through `log`
 * with the request at hand.
 */
export function answerErrors<E extends HonoEnv>(
  app: Hono<E>,
  log: (fields: ErrorLogFields, request: HonoRequest) => void,
): void {
  app.notFound(() => {
    throw new ApiError("not_found");
  });
  app.onError((error, c) => respondToError(error, (fields) => log(fields, c.req)));
}

/**
 * The error wrapper of both functions: turns anything thrown into the API's
 * error response, and logs it once, a refusal at `info` with its internal
 * detail, a failure (5xx) at `error` with its stack.
 */
export function respondToError(error: unknown, log: (fields: ErrorLogFields) => void): Response {
  const apiError = toApiError(error);
  log({
    level: apiError.status >= 500 ? "error" : "info",
    status: apiError.status,
    code: apiError.code,
    detail: apiError.status >= 500 && error instanceof Error
      ? error.stack ?? apiError.detail
      : apiError.detail,
  });
  return errorResponse(apiError);
}
