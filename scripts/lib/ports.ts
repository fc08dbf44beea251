/** TCP ports on 127.0.0.1: a free one, whether one is taken, and the stack's choice (SG_PORT, SG_DB_PORT). */
import net from "node:net";

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Whether this process could listen on 127.0.0.1:`port` right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port the system calls free at this moment. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `value` when given (0 = any free port); else `fallback`, or — for the database —
 * any free port when the fallback is taken.
 */
export async function choosePort(
  value: string | undefined,
  fallback: number,
  name: string,
  flexible: boolean,
) {
  if (value !== undefined) {
    const port = Number(value);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number`);
    if (port === 0) return await freePort();
    if (!(await portFree(port))) {
      throw new Error(`port ${port} (${name}) is taken; stop what uses it or set ${name}`);
    }
    return port;
  }
  if (await portFree(fallback)) return fallback;
  if (flexible) return await freePort();
  throw new Error(`port ${fallback} is taken (another npm start or supabase start?); stop it or set ${name}`);
}
