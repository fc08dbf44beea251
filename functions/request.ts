/**
 * Reading untrusted request input: the JSON body (size, media type, syntax,
 * shape), the client's IP address and user agent, and string fields (the
 * `Authorization` header: authorization.ts). Each refusal is an
 * {@link ApiError} with a documented code, so bad input never reaches the
 * database (P12).
 */
import type { ClientIpSource } from "./config.ts";
import { ApiError } from "./errors.ts";

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 8 * 1024;
/** Longest user agent stored; longer ones are cut. */
export const MAX_USER_AGENT_LENGTH = 512;

/** Half of a UTF-16 surrogate pair standing alone: not encodable as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE, "g");
/** Any half of a surrogate pair: a string without one has one code point per UTF-16 unit. */
const SURROGATE = /[\uD800-\uDFFF]/;
// deno-lint-ignore no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;
/** Bound once: a decode call without `stream` starts from a fresh state, a failed one included. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A parsed JSON object body. */
export type JsonObject = Readonly<Record<string, unknown>>;

/**
 * Reads the body as a JSON object, or undefined when there is none. Refuses
 * bodies over {@link MAX_BODY_BYTES} (413), other media types (415), invalid
 * UTF-8 or JSON and non-objects (400).
 */
export async function readJsonBody(request: Request): Promise<JsonObject | undefined> {
  const bytes = await readBodyBytes(request, MAX_BODY_BYTES);
  if (bytes.byteLength === 0) return undefined;

  const mediaType = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (mediaType !== "application/json") {
    throw new ApiError("unsupported_media_type", { detail: `content-type ${JSON.stringify(mediaType)}` });
  }
  let value: unknown;
  try {
    value = JSON.parse(UTF8.decode(bytes));
  } catch {
    throw new ApiError("invalid_request", { description: "The request body is not valid JSON." });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApiError("invalid_request", { description: "The request body must be a JSON object." });
  }
  return value as JsonObject;
}

/**
 * The raw body, refused with 413 `payload_too_large` past `limit` bytes (by its
 * declared length, or while it streams in) and 400 for a malformed
 * Content-Length. Shared by the JSON routes and the webhook, which needs the
 * exact bytes its sender signed.
 */
export async function readBodyBytes(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (!/^\d+$/.test(declared)) throw new ApiError("invalid_request", { detail: "bad content-length" });
    if (Number(declared) > limit) throw new ApiError("payload_too_large");
  }
  const body = request.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new ApiError("payload_too_large");
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * An optional string field: absent or null gives null; anything but a
 * well-formed string of at most `maxLength` characters without control
 * characters is `invalid_request`.
 */
export function optionalString(
  body: JsonObject | undefined,
  field: string,
  maxLength: number,
): string | null {
  const value = body?.[field];
  if (value === undefined || value === null) return null;
  if (
    typeof value !== "string" || value.length > maxLength || LONE_SURROGATE.test(value) ||
    // deno-lint-ignore no-control-regex
    /[\u0000-\u001f\u007f]/.test(value)
  ) {
    throw new ApiError("invalid_request", {
      description: `"${field}" must be a string of at most ${maxLength} printable characters.`,
    });
  }
  return value;
}

/**
 * The header in which an app server names the address of the browser it acts for
 * (@sessionguard/server sends it); see {@link requestIp}.
 */
export const CLIENT_IP_HEADER = "sessionguard-client-ip";

/**
 * The address a request is recorded and counted under. A request proven by one of the
 * app servers' keys in `SESSION_FORWARDING_KEYS` (its DPoP proof was verified, so it
 * holds that server's private key) may name the browser's address in
 * {@link CLIENT_IP_HEADER}; that address is used when it is a valid one. Anyone else's
 * header is ignored, so a browser or a thief cannot choose the address its requests
 * count against. Otherwise, and when the header is absent or invalid: {@link clientIp}.
 */
export function requestIp(
  request: Request,
  settings: { readonly clientIp: ClientIpSource; readonly forwardingKeys: ReadonlySet<string> },
  proof: { readonly jkt: string } | null,
): string | null {
  if (proof !== null && settings.forwardingKeys.has(proof.jkt)) {
    const named = request.headers.get(CLIENT_IP_HEADER)?.trim();
    const ip = named ? normalizeIp(named) : null;
    if (ip !== null) return ip;
  }
  return clientIp(request, settings.clientIp);
}

/**
 * The client's address from `source` (the `SESSION_CLIENT_IP` setting, parsed
 * in config/limits.ts), or null when it names no valid address. With
 * `forwarded-first`, the first valid `X-Forwarded-For` entry (what the client
 * claims, unless a proxy rewrites the header), then `cf-connecting-ip`; with
 * `forwarded-last`, the entry the nearest proxy appended. The per-session and
 * per-user rate limits never depend on it.
 */
export function clientIp(request: Request, source: ClientIpSource): string | null {
  if (source.kind === "header") {
    const value = request.headers.get(source.name)?.trim();
    return value ? normalizeIp(value) : null;
  }
  const forwarded = (request.headers.get("x-forwarded-for") ?? "").split(",");
  const entries = source.pick === "first" ? forwarded.slice(0, 20) : forwarded.slice(-20).reverse();
  for (const entry of entries) {
    const ip = normalizeIp(entry.trim());
    if (ip !== null) return ip;
  }
  if (source.pick === "last") return null;
  const cloudflare = request.headers.get("cf-connecting-ip")?.trim();
  return cloudflare ? normalizeIp(cloudflare) : null;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A canonical IPv4 or IPv6 address, or null. */
export function normalizeIp(value: string): string | null {
  if (value.length > 45) return null;
  if (IPV4.test(value)) return value;
  if (!/^[0-9a-fA-F:.]+$/.test(value) || !value.includes(":")) return null;
  try {
    const host = new URL(`http://[${value}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return null;
  }
}

/** The user agent without control characters, cut to {@link MAX_USER_AGENT_LENGTH}. */
export function userAgent(request: Request): string | null {
  const value = request.headers.get("user-agent")?.replace(CONTROL_CHARACTERS, "").trim();
  if (!value) return null;
  // Without surrogates every UTF-16 unit is a code point: cutting the string cuts code points.
  if (!SURROGATE.test(value)) return value.slice(0, MAX_USER_AGENT_LENGTH);
  return Array.from(value.replace(LONE_SURROGATES, "\uFFFD")).slice(0, MAX_USER_AGENT_LENGTH).join("");
}
