import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createSessionClient, defaultStorage } from "@sessionguard/client";
import { SessionGuardProvider } from "@sessionguard/react";
import "@sessionguard/react/styles.css";
import "./app.css";
import { App } from "./App.tsx";
import { ClerkApp } from "./ClerkApp.tsx";
import { config } from "./config.ts";

// One session client for the page. IndexedDB storage (the SDK's browser default), made
// here so the local theft demo can read the refresh token as an attacker would.
const storage = defaultStorage();
// Sessions are bound to this device's key (the SDK's default). `?dpop=off` starts unbound
// ones instead, for the theft demo: a bound session's copied refresh token is useless
// without the key, so the demo's thief could not rotate it.
const unbound = new URLSearchParams(location.search).get("dpop") === "off";
const client = createSessionClient({ url: config.sessionUrl, storage, ...(unbound ? { dpop: false } : {}) });
(window as unknown as { sessionguardExample: unknown }).sessionguardExample = { client, storage, config };

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <SessionGuardProvider client={client} {...(config.supabase ? { supabase: config.supabase } : {})}>
      {config.clerkPublishableKey ? <ClerkApp publishableKey={config.clerkPublishableKey} /> : <App />}
    </SessionGuardProvider>
  </StrictMode>,
);
