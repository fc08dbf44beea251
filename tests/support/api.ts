/** A small HTTP client for the session function in tests. */

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON body, or null when there is none. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test payloads of any shape
  readonly body: any;
}

export interface CallOptions {
  method?: string;
  /** Bearer token for the Authorization header. */
  token?: string;
  /** A JSON value (serialised) or a raw string body. */
  json?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

/** Calls `base + path` and parses the answer. */
export async function call(base: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
  const headers = new Headers(options.headers);
  if (options.token !== undefined) headers.set("authorization", `Bearer ${options.token}`);
  let body: string | undefined = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const response = await fetch(base + path, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
  });
  const text = await response.text();
  let parsed: unknown = null;
  if (text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { unparsed: text };
    }
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
