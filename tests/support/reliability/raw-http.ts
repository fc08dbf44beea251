/**
 * HTTP/1.1 requests written byte by byte, for what `fetch` refuses to send:
 * repeated headers, bytes that are not Latin-1, conflicting lengths.
 */
import net from "node:net";

/** A parsed answer; `body` is the raw text. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Sends `head` (request line and headers, without the blank line; `\n` becomes
 * CRLF) and `body` to `origin`, with `Connection: close`, and reads the answer.
 * A connection closed without any answer resolves with status 0.
 */
export function rawRequest(origin: string, head: string, body: Uint8Array | string = ""): Promise<RawAnswer> {
  const { hostname, port } = new URL(origin);
  const payload = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  const lines = head.replace(/\r?\n/g, "\r\n").replace(/(\r\n)*$/, "");
  const request = Buffer.concat([
    Buffer.from(`${lines}\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`, "latin1"),
    payload,
  ]);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error("raw request timed out")), 15_000);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", (error) => {
      clearTimeout(timer);
      // A server that refuses the request may reset the connection before we read it all.
      if (chunks.length > 0 || (error as NodeJS.ErrnoException).code === "ECONNRESET") {
        resolve(parse(Buffer.concat(chunks)));
      } else reject(error);
    });
    socket.on("end", () => {
      clearTimeout(timer);
      resolve(parse(Buffer.concat(chunks)));
    });
    socket.write(request);
  });
}

function parse(data: Buffer): RawAnswer {
  const text = data.toString("latin1");
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) return { status: 0, headers: {}, body: text };
  const [statusLine, ...headerLines] = text.slice(0, split).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = data.subarray(Buffer.byteLength(text.slice(0, split + 4), "latin1"));
  if (headers["transfer-encoding"]?.includes("chunked")) body = dechunk(body);
  return { status: Number(statusLine.split(" ")[1]), headers, body: body.toString("utf8") };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    const end = data.indexOf("\r\n", offset);
    if (end < 0) break;
    const size = parseInt(data.subarray(offset, end).toString("latin1"), 16);
    if (!size) break;
    parts.push(data.subarray(end + 2, end + 2 + size));
    offset = end + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
