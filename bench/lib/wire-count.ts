/**
 * A counting TCP proxy in front of Postgres: it forwards bytes unchanged and
 * reads the client's side of the wire protocol (PostgreSQL docs, "Frontend/
 * Backend Protocol", Message Formats) to count what each client asks for:
 *
 *  - `Q` simple query and `E` Execute (extended protocol): statements run;
 *  - `P` Parse: statements parsed (with prepared statements a connection parses
 *    each distinct statement once; without, every call is parsed and planned).
 *
 * Together with the server's own `xact_commit` this gives statements, parses
 * and commits per refresh without pg_stat_statements (which needs a restart
 * with shared_preload_libraries). Used only for short counting runs, never
 * for timed ones.
 */
import net from "node:net";

export interface WireCounts {
  statements: number;
  parses: number;
  connections: number;
}

export interface WireCounter {
  /** postgres:// URL that goes through the proxy. */
  readonly url: string;
  readonly counts: WireCounts;
  reset(): void;
  close(): Promise<void>;
}

/** Parses the frontend stream of one connection, calling `onMessage` with each typed message's tag. */
function frontendParser(onMessage: (tag: string) => void): (chunk: Buffer) => void {
  let buffer: Buffer = Buffer.alloc(0);
  // The first message (StartupMessage, or SSLRequest/GSSENCRequest before it) has no tag byte.
  let untyped = true;
  return (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    for (;;) {
      if (untyped) {
        if (buffer.length < 8) return;
        const length = buffer.readInt32BE(0);
        if (buffer.length < length) return;
        const code = buffer.readInt32BE(4);
        // SSLRequest (80877103) and GSSENCRequest (80877104) are followed by another untyped message.
        untyped = code === 80877103 || code === 80877104;
        buffer = buffer.subarray(length);
        continue;
      }
      if (buffer.length < 5) return;
      const length = buffer.readInt32BE(1);
      if (buffer.length < 1 + length) return;
      onMessage(String.fromCharCode(buffer[0]));
      buffer = buffer.subarray(1 + length);
    }
  };
}

/** Starts a proxy on 127.0.0.1 in front of the server `url` names. */
export async function startWireCounter(url: string): Promise<WireCounter> {
  const target = new URL(url);
  const counts: WireCounts = { statements: 0, parses: 0, connections: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    counts.connections++;
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const parse = frontendParser((tag) => {
      if (tag === "Q" || tag === "E") counts.statements++;
      else if (tag === "P") counts.parses++;
    });
    client.on("data", (chunk: Buffer) => {
      parse(chunk);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const proxied = new URL(url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(port);
  return {
    url: proxied.toString(),
    counts,
    reset() {
      counts.statements = 0;
      counts.parses = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
