/**
 * Serves the "your devices" page: `index.html`, its theme `devices.css`, its script
 * `devices.js` (web/src on @sessionguard/react, bundled by web/build.ts), the identity seam
 * `clerk-token.js` (loaded by the script at run time), the SDK as browser ES modules under
 * `sdk/` (sdk/src/*.ts transpiled on first request, for tests and tinkering),
 * and `config.json` telling the page where the session function is and, with the local
 * development issuer, where its tokens come from.
 *
 * `createWebHandler(options)` is a web-standard `(Request) => Promise<Response | null>`
 * (null: not ours) for a local gateway to mount; `startWebServer` runs it on node:http.
 * Every answer forbids framing (`frame-ancestors 'none'`, `X-Frame-Options: DENY`), so
 * whoever mounts the handler serves the page unframeable.
 */
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const WEB_DIR = path.dirname(fileURLToPath(import.meta.url));
const SDK_SRC = path.join(WEB_DIR, "..", "packages", "client", "src");
const STATIC: Record<string, string> = {
  "": "index.html",
  "index.html": "index.html",
  "devices.css": "devices.css",
  "clerk-token.js": "clerk-token.js",
};
/** The bundled page script (web/build.ts's PAGE_SCRIPT; not imported: build.ts loads Vite). */
const PAGE_SCRIPT = "devices.js";
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

export interface WebOptions {
  /** The session function's public base URL, e.g. http://127.0.0.1:54321/functions/v1/session */
  sessionUrl: string;
  /** Where the page is mounted; default "/". */
  basePath?: string;
  /** URL of the local development issuer's token endpoint when someone else serves it. */
  devTokenUrl?: string;
  /** A real Clerk instance: the page loads clerk-js from `frontendApi`. */
  clerk?: { publishableKey: string; frontendApi: string };
  /**
   * The folder web/build.ts built the page into (`npm start` builds before its gateway
   * listens). Without it the handler builds on first request, which needs Node (Vite).
   */
  pageDir?: string;
}

export function createWebHandler(
  options: WebOptions,
): (request: Request) => Promise<Response | null> {
  const base = `/${(options.basePath ?? "/").replace(/^\/+|\/+$/g, "")}/`
    .replace("//", "/");
  const sdkCache = new Map<string, string>();
  let pageScript: Promise<string> | undefined;
  const script = () =>
    pageScript ??= (async () => {
      const dir = options.pageDir ?? (await (await import("./build.ts")).buildPage()).dir;
      return await readFile(path.join(dir, PAGE_SCRIPT), "utf8");
    })().catch((error) => {
      pageScript = undefined; // a later request tries again
      throw error;
    });
  // Read per request: a launcher may learn the function's URL after creating the handler.
  const csp = () => {
    const sessionOrigin = new URL(options.sessionUrl).origin;
    const clerkOrigin = options.clerk ? new URL(options.clerk.frontendApi).origin : "";
    return [
      "default-src 'self'",
      `script-src 'self' ${clerkOrigin}`.trim(),
      `connect-src 'self' ${sessionOrigin} ${clerkOrigin}`.trim(),
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: https:",
      `frame-src ${clerkOrigin || "'none'"}`,
      "base-uri 'none'",
      "form-action 'self'",
      // Nobody may frame the page: its buttons revoke sessions (clickjacking).
      "frame-ancestors 'none'",
    ].join("; ");
  };
  const config = () =>
    JSON.stringify({
      sessionUrl: options.sessionUrl.replace(/\/+$/, ""),
      ...(options.devTokenUrl ? { devTokenUrl: options.devTokenUrl } : {}),
      ...(options.clerk ? { clerk: options.clerk } : {}),
    });

  return async (request) => {
    const url = new URL(request.url);
    const headers = {
      "content-security-policy": csp(),
      // For browsers that predate CSP's frame-ancestors.
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
    };
    if (!url.pathname.startsWith(base) && url.pathname !== base.slice(0, -1)) {
      return null;
    }
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    const rest = url.pathname.slice(base.length);
    if (url.pathname === base.slice(0, -1)) {
      return new Response(null, { status: 308, headers: { ...headers, location: base } });
    }
    if (rest === "config.json") {
      return new Response(config(), {
        headers: { ...headers, "content-type": "application/json" },
      });
    }
    const sdkMatch = /^sdk\/([a-z-]+)\.js$/.exec(rest);
    if (sdkMatch) {
      const source = await sdkModule(sdkCache, sdkMatch[1]!);
      if (source === null) return null;
      return new Response(source, {
        headers: { ...headers, "content-type": TYPES[".js"]! },
      });
    }
    if (rest === PAGE_SCRIPT) {
      const body = await script();
      return new Response(request.method === "HEAD" ? null : body, {
        headers: { ...headers, "content-type": TYPES[".js"]! },
      });
    }
    const file = STATIC[rest];
    if (!file) return null;
    const body = await readFile(path.join(WEB_DIR, file));
    return new Response(request.method === "HEAD" ? null : body, {
      headers: { ...headers, "content-type": TYPES[path.extname(file)]! },
    });
  };
}

/** sdk/src/<name>.ts as a browser ES module (relative `.ts` imports rewritten to `.js`). */
async function sdkModule(
  cache: Map<string, string>,
  name: string,
): Promise<string | null> {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  let source: string;
  try {
    source = await readFile(path.join(SDK_SRC, `${name}.ts`), "utf8");
  } catch {
    return null;
  }
  // Loaded on first use: the compiler is large, and a gateway that never serves the SDK
  // should not pay for it at start-up.
  const ts = (await import("typescript")).default;
  const { outputText } = ts.transpileModule(source, {
    fileName: `${name}.ts`,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      rewriteRelativeImportExtensions: true,
      verbatimModuleSyntax: true,
    },
  });
  cache.set(name, outputText);
  return outputText;
}

export interface WebServer {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Runs the handler on node:http; `fallback` answers what the page does not (a local gateway
 * can pass the session function there to serve both on one origin).
 */
export async function startWebServer(
  options: WebOptions & {
    port?: number;
    host?: string;
    fallback?: (request: Request) => Promise<Response>;
  },
): Promise<WebServer> {
  const handler = createWebHandler(options);
  const server = http.createServer(async (req, res) => {
    try {
      const host = req.headers.host ?? "127.0.0.1";
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = chunks.length && req.method !== "GET" && req.method !== "HEAD"
        ? Buffer.concat(chunks)
        : undefined;
      const request = new Request(`http://${host}${req.url}`, {
        method: req.method,
        headers: Object.entries(req.headers).flatMap(([k, v]) =>
          v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => [k, x] as [string, string])
        ),
        body,
      });
      const response = (await handler(request)) ??
        (options.fallback ? await options.fallback(request) : new Response("not found", { status: 404 }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(
        response.body ? Buffer.from(await response.arrayBuffer()) : undefined,
      );
    } catch (err) {
      console.error("web:", err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve)
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}${`/${(options.basePath ?? "").replace(/^\/+/, "")}`}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
