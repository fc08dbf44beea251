// Bundled by Vite from the packages installed out of their tarballs.
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { createSessionClient } from "@sessionguard/client";
import { DeviceList, SecurityEvents, SessionGuardProvider } from "@sessionguard/react";
import { ClerkSessionSync } from "@sessionguard/react/clerk";
import "@sessionguard/react/styles.css";

const client = createSessionClient({ url: `${location.origin}/functions/v1/session` });
createRoot(document.getElementById("root")).render(
  h(SessionGuardProvider, { client }, h(DeviceList), h(SecurityEvents)),
);
// Kept in the bundle on purpose: the Clerk glue and @clerk/react must resolve and bundle too.
window.sessionguardClerkGlue = ClerkSessionSync;
