/**
 * The "your devices" page: one session client (IndexedDB storage, the SDK's browser
 * default, made here so the theft demo can read it) under <SessionGuardProvider>, and the
 * page built on @sessionguard/react's components. Bundled by ../build.ts.
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createSessionClient, defaultStorage } from "@sessionguard/client";
import { SessionGuardProvider } from "@sessionguard/react";
import { loadConfig } from "./config.ts";
import { DevicesPage } from "./DevicesPage.tsx";
import { loadTokenSource } from "./identity.ts";

const config = await loadConfig();
const identity = await loadTokenSource(config.identity);
const storage = defaultStorage();
// Bound to this device's key (the SDK's default); `?dpop=off` starts unbound sessions, for
// the replay demo (a bound session's copied refresh token is useless without the key).
const unbound = new URLSearchParams(location.search).get("dpop") === "off";
const sessions = createSessionClient({ url: config.sessionUrl, storage, ...(unbound ? { dpop: false } : {}) });

/** For tests and the curious: the page's session client, its storage and configuration. */
(window as unknown as { sessionguardPage: unknown }).sessionguardPage = { sessions, storage, config };

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <SessionGuardProvider client={sessions}>
      <DevicesPage config={config} identity={identity} storage={storage} />
    </SessionGuardProvider>
  </StrictMode>,
);
