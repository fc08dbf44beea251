/**
 * The React example (`npm run example`, examples/react-vite/serve.ts) as a child process,
 * proxied to a running stack; resolves with its URL once Vite listens. With `config`, Vite's
 * own CLI serves that config instead (a test fixture built on the example's settings).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../scripts/lib/ports.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface ExampleServer {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startExample(stackOrigin: string, config?: string): Promise<ExampleServer> {
  const port = await freePort();
  const [command, args] = config
    ? ["vite", ["--config", config, "--port", String(port), "--strictPort"]]
    : ["tsx", ["examples/react-vite/serve.ts"]];
  const child = spawn(path.join(ROOT, "node_modules", ".bin", command), args, {
    cwd: ROOT,
    env: { ...process.env, SG_STACK_URL: stackOrigin, SG_EXAMPLE_PORT: String(port), NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  let output = "";
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the example was not ready in 60 s:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk;
        const match = /(?:React \+ sessionguard at|Local:)\s+(http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the example exited before it was ready:\n${output}`));
      });
    });
    return { url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
