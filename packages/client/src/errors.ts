/**
 * Error codes the session server answers with (docs/contract.md, "Errors"), plus the few the
 * client itself raises. One closed union: callers switch on `code`, never on a message.
 */
export const SERVER_ERROR_CODES = [
  "invalid_request",
  "invalid_token",
  "invalid_refresh_token",
  "refresh_token_reused",
  "session_revoked",
  "session_expired",
  "invalid_dpop_proof",
  "use_dpop_nonce",
  "invalid_signature",
  "not_found",
  "method_not_allowed",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "server_error",
] as const;

export type ServerErrorCode = (typeof SERVER_ERROR_CODES)[number];

/**
 * Raised by the client, not the server:
 * - `network_error`: no answer (offline, timeout, connection reset) after the retries.
 * - `not_signed_in`: the call needs a session and there is none.
 * - `invalid_response`: the server answered something that is not the documented shape.
 */
export type ClientErrorCode =
  | "network_error"
  | "not_signed_in"
  | "invalid_response";

export type SessionErrorCode = ServerErrorCode | ClientErrorCode;

/** Codes after which the stored session is useless: storage is cleared, `signedOut` emitted. */
export const TERMINAL_CODES: ReadonlySet<SessionErrorCode> = new Set<
  SessionErrorCode
>([
  "refresh_token_reused",
  "session_revoked",
  "session_expired",
  "invalid_refresh_token",
]);

/** The error every SDK method rejects with. */
export class SessionError extends Error {
  override readonly name = "SessionError";
  /** HTTP status of the server's answer; 0 for client-side errors. */
  readonly status: number;
  /** Seconds from a `Retry-After` header (429, 503), when the server sent one. */
  readonly retryAfter?: number;

  constructor(
    readonly code: SessionErrorCode,
    message: string,
    options: { status?: number; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.status = options.status ?? 0;
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

export function isSessionError(value: unknown): value is SessionError {
  return value instanceof SessionError;
}

function isServerCode(value: unknown): value is ServerErrorCode {
  return typeof value === "string" &&
    (SERVER_ERROR_CODES as readonly string[]).includes(value);
}

/** Turns a non-2xx response into a SessionError; unknown codes become `server_error`. */
export async function errorFromResponse(res: Response): Promise<SessionError> {
  let code: ServerErrorCode = res.status >= 500 ? "server_error" : "invalid_request";
  let description = `HTTP ${res.status}`;
  try {
    const body: unknown = await res.json();
    if (body && typeof body === "object") {
      const { error, error_description } = body as Record<string, unknown>;
      code = isServerCode(error) ? error : "server_error";
      if (typeof error_description === "string") {
        description = error_description;
      }
    }
  } catch {
    // Not JSON (a proxy's error page, say): keep the status-derived code.
  }
  const retryAfterHeader = res.headers.get("retry-after");
  const retryAfter = retryAfterHeader !== null && /^\d+$/.test(retryAfterHeader)
    ? Number(retryAfterHeader)
    : undefined;
  return new SessionError(code, description, {
    status: res.status,
    retryAfter,
  });
}
