// Runs in the scratch project, against the packages installed from their tarballs.
// 1. Imports both packages (and the Clerk glue) in Node while recording every read of a
//    browser-only global, then renders the components with react-dom/server: nothing in
//    @sessionguard/* may touch `window` & co. at import or render time.
// 2. With SESSION_URL and CLERK_TOKEN: the SDK against the real session function.
const BROWSER_ONLY = ["window", "document", "localStorage", "sessionStorage", "indexedDB"];
const touched = [];
for (const name of BROWSER_ONLY) {
  Object.defineProperty(globalThis, name, {
    configurable: true,
    get() {
      touched.push({ name, stack: new Error().stack ?? "" });
      return undefined;
    },
  });
}
const ours = () => touched.filter((t) => t.stack.includes("@sessionguard")).map((t) => t.name);

const client = await import("@sessionguard/client");
const react = await import("@sessionguard/react");
const clerk = await import("@sessionguard/react/clerk");
const afterImport = ours();

const { createElement: h } = await import("react");
const { renderToString } = await import("react-dom/server");
const sessions = client.createSessionClient({
  url: process.env.SESSION_URL ?? "http://127.0.0.1:9/functions/v1/session",
  storage: client.memoryStorage(),
});
const before = touched.length;
const html = renderToString(
  h(react.SessionGuardProvider, { client: sessions, supabase: { url: "http://127.0.0.1:9", anonKey: "anon" } },
    h(react.DeviceList), h(react.SecurityEvents)),
);
const duringRender = touched.slice(before).filter((t) => t.stack.includes("@sessionguard")).map((t) => t.name);

// Control: the detector sees a module under @sessionguard that does read `window`.
const { writeFileSync } = await import("node:fs");
const control = new URL("./node_modules/@sessionguard/trap-control.mjs", import.meta.url);
writeFileSync(control, "export const w = globalThis.window;\n");
const beforeControl = touched.length;
await import(control.href);
const controlSeen = touched.slice(beforeControl).filter((t) => t.stack.includes("@sessionguard")).map((t) => t.name);

const result = {
  controlSeen,
  exports: {
    client: Object.keys(client).sort(),
    react: Object.keys(react).sort(),
    clerk: Object.keys(clerk).sort(),
  },
  touchedAtImport: afterImport,
  touchedDuringRender: duringRender,
  html,
  errorIsClass: new client.SessionError("not_found", "x") instanceof Error,
};

if (process.env.SESSION_URL && process.env.CLERK_TOKEN) {
  const started = await sessions.start(process.env.CLERK_TOKEN, { deviceName: "scratch project" });
  const refreshed = await sessions.refresh();
  const devices = await sessions.listSessions();
  result.live = {
    userId: started.user_id,
    sameSession: refreshed.session_id === started.session_id,
    devices: devices.map((d) => ({ name: d.device_name, current: d.current })),
  };
  await sessions.signOut();
  result.live.afterSignOut = await sessions.getAccessToken();
}
sessions.close();
console.log(JSON.stringify(result));
