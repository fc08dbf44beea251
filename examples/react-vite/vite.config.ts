/**
 * The example against `npm start`'s stack. The dev server proxies the session function
 * (`/functions/v1/*`), the Data API (`/rest/v1/*`), Realtime (`/realtime/v1`, a websocket)
 * and the local development issuer (`/dev/*`) to the stack, so the
 * page and the API share one origin and the stack's CORS and Clerk `azp` settings need no
 * change. `@sessionguard/*` resolve to the sources in this repository (edits reload at
 * once); an app of your own installs the packages instead (see README.md).
 *
 *   SG_STACK_URL      the stack (default http://127.0.0.1:54321)
 *   SG_EXAMPLE_PORT   this dev server's port (default 5173)
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const stack = process.env.SG_STACK_URL ?? "http://127.0.0.1:54321";

export default defineConfig({
  root: here,
  plugins: [react()],
  resolve: {
    alias: [
      { find: /^@sessionguard\/client$/, replacement: path.join(repo, "packages", "client", "src", "index.ts") },
      { find: /^@sessionguard\/react\/clerk$/, replacement: path.join(repo, "packages", "react", "src", "clerk.ts") },
      { find: /^@sessionguard\/react\/styles\.css$/, replacement: path.join(repo, "packages", "react", "styles.css") },
      { find: /^@sessionguard\/react$/, replacement: path.join(repo, "packages", "react", "src", "index.ts") },
    ],
    dedupe: ["react", "react-dom"],
  },
  server: {
    host: "127.0.0.1",
    port: Number(process.env.SG_EXAMPLE_PORT ?? 5173),
    fs: { allow: [repo] },
    proxy: {
      // The Host header is kept: the SDK binds sessions by default, and a DPoP proof names
      // the URL the page called (this server's), which the function accepts for its own
      // host only (docs/dpop.md "Which URL a proof must name").
      "/functions/v1": { target: stack, changeOrigin: false },
      "/rest/v1": { target: stack, changeOrigin: true },
      // Realtime's websocket: the SDK hears its session's end here (listenForRevocation).
      "/realtime/v1": { target: stack, changeOrigin: true, ws: true },
      "/dev": { target: stack, changeOrigin: true },
    },
  },
  clearScreen: false,
});
