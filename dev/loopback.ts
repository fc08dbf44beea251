/**
 * What counts as local for the gateway `npm start` runs (never deployed).
 *
 * DNS rebinding: a page on `evil.example` whose name later resolves to 127.0.0.1 can
 * reach the gateway from the victim's browser, same-origin to itself, and read what
 * the development issuer signs. The browser still sends `Host: evil.example`, so the
 * gateway answers only requests whose `Host` is a loopback name.
 *
 * The development issuer signs Clerk-shaped tokens for any user: it may run only
 * against a database on this machine (and, checked by the stack, with keys it
 * generated), never next to a real project's database or signing key.
 */

/**
 * Whether `hostname` (as `URL.hostname` spells it) names this machine: `localhost`
 * and `*.localhost` (RFC 6761 §6.3: resolved to loopback, never through DNS),
 * 127.0.0.0/8 and `[::1]`.
 */
export function isLoopbackHostname(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (name === "[::1]") return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return octets !== null && octets.slice(1).every((octet) => Number(octet) <= 255);
}

/** Whether the request's `Host` header names a loopback host (any port). */
export function hasLoopbackHost(request: Request): boolean {
  const host = request.headers.get("host");
  if (host === null || host === "" || /[\s/@?#\\]/.test(host)) return false;
  try {
    return isLoopbackHostname(new URL(`http://${host}/`).hostname);
  } catch {
    return false;
  }
}

/**
 * Whether a Postgres URL points at this machine: a loopback host, or a Unix socket
 * (no host, or a `host=/path` parameter).
 */
export function isLocalDatabaseUrl(databaseUrl: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(databaseUrl);
  } catch {
    return false;
  }
  const socket = parsed.searchParams.get("host");
  if (socket !== null) {
    return socket.startsWith("/") && (parsed.hostname === "" || isLoopbackHostname(parsed.hostname));
  }
  return parsed.hostname === "" || isLoopbackHostname(parsed.hostname);
}

/** The answer to a request whose `Host` is not local. */
export function foreignHostResponse(): Response {
  return Response.json(
    {
      error: "invalid_request",
      error_description:
        "This local stack answers only requests addressed to localhost or 127.0.0.1 (DNS rebinding guard).",
    },
    { status: 400 },
  );
}
