// The "your devices" page: sign in, list and revoke sessions, see security events,
// and (local development only) watch theft detection happen. No framework: the SDK
// (sdk/dist, served next to this file as ./sdk/) plus a little DOM code.
import { createSessionClient, defaultStorage, isSessionError } from "./sdk/index.js";
import { createTokenSource } from "./clerk-token.js";

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const STORAGE_KEY = "sessionguard.session";

const SIGNED_OUT_TEXT = {
  signed_out: "You are signed out.",
  session_revoked: "This session was revoked (from another device, or after a security check). Sign in again.",
  session_expired: "This session expired. Sign in again.",
  refresh_token_reused:
    "Theft detected: an old refresh token of this session was used again, so the server revoked the session.",
  invalid_refresh_token: "The stored session was not valid. Sign in again.",
};

const config = await loadConfig();
const identity = createTokenSource(config.identity);
// IndexedDB (the SDK's browser default), created here so the theft demo can read it.
const storage = defaultStorage();
const sessions = createSessionClient({ url: config.sessionUrl, storage });
let refreshCount = 0;

/** For tests and the curious: the page's session client. */
window.sessionguardPage = { sessions, storage, config };

// ---- wiring ---------------------------------------------------------------------------

$("signin").textContent = identity.label;
if (config.identity.mode === "local") {
  const banner = $("mode-banner");
  banner.textContent = "Local development: signed in by the local development issuer, not a real Clerk instance.";
  banner.hidden = false;
  $("dev-tools").hidden = false;
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  busy($("signin"), async () => {
    const deviceName = /** @type {HTMLInputElement} */ ($("device-name")).value.trim() || defaultDeviceName();
    setStatus("Signing in…");
    await sessions.start(await identity.getToken(), { deviceName });
    hideAlert();
    $("replay-result").textContent = "";
    await showSignedIn();
    setStatus("Signed in.");
    $("account-heading").focus();
  });
});

$("refresh").addEventListener("click", () =>
  busy($("refresh"), async () => {
    await sessions.refresh();
    setStatus("Access token refreshed.");
  })
);
$("reload").addEventListener("click", () => busy($("reload"), () => loadLists("Lists reloaded.")));
$("signout").addEventListener("click", () => busy($("signout"), () => sessions.signOut("local")));
$("signout-others").addEventListener("click", () =>
  busy($("signout-others"), async () => {
    await sessions.signOut("others");
    await loadLists("Signed out everywhere else.");
  })
);
$("replay").addEventListener("click", () => busy($("replay"), replayOldRefreshToken));

sessions.on("tokensRefreshed", ({ source }) => {
  refreshCount++;
  $("refresh-count").textContent = String(refreshCount);
  document.body.dataset.refreshes = String(refreshCount);
  void showExpiry();
  if (source === "other-tab") setStatus("Another tab refreshed the session; this tab uses its tokens.");
});
sessions.on("signedIn", ({ source }) => {
  if (source === "other-tab") void showSignedIn();
});
sessions.on("theftDetected", () => showAlert(SIGNED_OUT_TEXT.refresh_token_reused));
sessions.on("signedOut", ({ reason }) => {
  showSignedOut();
  setStatus(SIGNED_OUT_TEXT[reason] ?? "You are signed out.");
  if (reason === "session_revoked" && !$("alert").hidden) return; // keep the theft message
  if (reason !== "signed_out" && reason !== "refresh_token_reused") showAlert(SIGNED_OUT_TEXT[reason]);
});

if (await sessions.getSession()) await showSignedIn();
else showSignedOut();
document.body.dataset.ready = "true";

// ---- views ----------------------------------------------------------------------------

async function showSignedIn() {
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  document.body.dataset.state = "signed-in";
  const info = await sessions.getSession();
  $("user-id").textContent = info?.user_id ?? "";
  await showExpiry();
  await loadLists();
}

function showSignedOut() {
  $("signed-in").hidden = true;
  $("signed-out").hidden = false;
  document.body.dataset.state = "signed-out";
  $("devices").replaceChildren();
  $("events").replaceChildren();
}

async function showExpiry() {
  const info = await sessions.getSession();
  if (!info) return;
  const time = $("token-expiry");
  time.setAttribute("datetime", new Date(info.expires_at * 1000).toISOString());
  time.textContent = formatTime(info.expires_at);
}

/** Loads devices and events; a dead session surfaces here as signedOut. */
async function loadLists(doneMessage) {
  try {
    const [devices, events] = await Promise.all([sessions.listSessions(), sessions.listEvents()]);
    renderDevices(devices);
    renderEvents(events);
    if (doneMessage) setStatus(doneMessage);
  } catch (err) {
    // Session-ending codes already switched the page to signed-out via the event.
    if (isSessionError(err) && ["session_revoked", "session_expired", "not_signed_in"].includes(err.code)) return;
    throw err;
  }
}

/** @param {import("./sdk/index.js").DeviceSession[]} devices */
function renderDevices(devices) {
  const rows = devices.map((device) => {
    const tr = document.createElement("tr");
    tr.dataset.sessionId = device.id;
    if (device.current) tr.dataset.current = "true";
    const name = device.device_name || describeUserAgent(device.user_agent) || "Unknown device";
    const nameCell = cell(name);
    nameCell.title = device.user_agent ?? "";
    if (device.current) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "This device";
      nameCell.append(badge);
    }
    const actions = document.createElement("td");
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "danger";
    revoke.textContent = device.current ? "Sign out" : "Revoke";
    revoke.setAttribute("aria-label", `${device.current ? "Sign out" : "Revoke"} ${name}`);
    revoke.addEventListener("click", () =>
      busy(revoke, async () => {
        await sessions.revokeSession(device.id);
        if (!device.current) await loadLists(`Revoked ${name}.`);
      })
    );
    actions.append(revoke);
    tr.append(nameCell, cell(device.ip ?? "—"), timeCell(device.last_active_at), timeCell(device.created_at), actions);
    return tr;
  });
  $("devices").replaceChildren(...rows);
}

/** @param {import("./sdk/index.js").SecurityEvent[]} events */
function renderEvents(events) {
  const items = events.map((event) => {
    const li = document.createElement("li");
    li.dataset.type = event.type;
    if (event.type === "refresh_token_reused") li.className = "theft";
    const time = document.createElement("time");
    time.dateTime = toDate(event.created_at).toISOString();
    time.textContent = formatTime(event.created_at);
    const type = document.createElement("span");
    type.className = "type";
    type.textContent = ` ${event.type} `;
    const where = [event.ip, describeUserAgent(event.user_agent)].filter(Boolean).join(", ");
    li.append(time, type, document.createTextNode(event.description + (where ? ` (${where})` : "")));
    return li;
  });
  if (items.length === 0) {
    const li = document.createElement("li");
    li.textContent = "No events yet.";
    items.push(li);
  }
  $("events").replaceChildren(...items);
}

// ---- theft demo -----------------------------------------------------------------------

/**
 * An attacker copied this device's refresh token a while ago. Meanwhile the device
 * rotated twice (the copy is now older than the one-rotation grace), then the attacker
 * presents the copy. The server must revoke the session; the page shows what happens.
 */
async function replayOldRefreshToken() {
  const stored = JSON.parse((await storage.get(STORAGE_KEY)) ?? "null");
  if (!stored?.refresh_token) throw new Error("no session on this device");
  const stolen = stored.refresh_token;
  const out = $("replay-result");
  out.textContent = "Copied the current refresh token. Rotating twice…\n";
  await sessions.refresh();
  await sessions.refresh();
  out.textContent += "Presenting the copied (spent) token to /refresh…\n";
  const res = await fetch(`${config.sessionUrl}/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: stolen }),
  });
  const body = await res.json().catch(() => ({}));
  out.textContent += `Server answered ${res.status} ${body.error ?? ""}: ${body.error_description ?? ""}\n`;
  if (body.error === "refresh_token_reused") {
    document.body.dataset.theft = "detected";
    showAlert(
      "Theft detected: the server saw a spent refresh token and revoked this session. " +
        "This device is signed out on its next request.",
    );
    out.textContent += "Now this device makes its next request…\n";
  }
  await loadLists();
}

// ---- helpers --------------------------------------------------------------------------

async function loadConfig() {
  const params = new URLSearchParams(location.search);
  /** @type {Record<string, any>} */
  let served = {};
  try {
    const res = await fetch(new URL("config.json", location.href), { cache: "no-store" });
    if (res.ok) served = await res.json();
  } catch {
    // no config.json: same-origin defaults
  }
  // From the server's configuration only, never from the page's URL: a link that named
  // another endpoint would send this device's tokens there.
  const sessionUrl = (served.sessionUrl ?? new URL("/functions/v1/session", location.origin).href)
    .replace(/\/+$/, "");
  if (served.clerk?.publishableKey && served.clerk?.frontendApi) {
    return { sessionUrl, identity: { mode: "clerk", ...served.clerk } };
  }
  const devTokenUrl = new URL(served.devTokenUrl ?? "/dev/clerk-token", location.origin);
  // Optional: a named demo user (tests use one per run); the issuer may ignore it.
  const user = params.get("user");
  if (user) devTokenUrl.searchParams.set("user", user);
  return { sessionUrl, identity: { mode: "local", devTokenUrl: devTokenUrl.href } };
}

/** Runs an action with its button disabled; failures are announced, not thrown. */
async function busy(button, action) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await action();
  } catch (err) {
    const text = isSessionError(err) ? `${err.code}: ${err.message}` : String(err?.message ?? err);
    setStatus(`Failed: ${text}`);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

function setStatus(text) {
  $("status").textContent = text;
}

function showAlert(text) {
  const alert = $("alert");
  alert.textContent = text;
  alert.hidden = false;
}

function hideAlert() {
  $("alert").hidden = true;
  $("alert").textContent = "";
  delete document.body.dataset.theft;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function timeCell(value) {
  const td = document.createElement("td");
  const time = document.createElement("time");
  time.dateTime = toDate(value).toISOString();
  time.textContent = formatTime(value);
  td.append(time);
  return td;
}

/** Times arrive as Unix seconds or ISO strings. */
function toDate(value) {
  return typeof value === "number" ? new Date(value * 1000) : new Date(value);
}

function formatTime(value) {
  const date = toDate(value);
  return Number.isNaN(date.getTime()) ? "—" : date.toLocaleString();
}

function describeUserAgent(ua) {
  if (!ua) return "";
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /Firefox\//.test(ua)
    ? "Firefox"
    : /Chrom(e|ium)\//.test(ua)
    ? "Chrome"
    : /Safari\//.test(ua)
    ? "Safari"
    : "";
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad/.test(ua)
    ? "iOS"
    : /Windows/.test(ua)
    ? "Windows"
    : /Mac OS X/.test(ua)
    ? "macOS"
    : /Linux/.test(ua)
    ? "Linux"
    : "";
  return [browser, os].filter(Boolean).join(" on ") || ua.slice(0, 40);
}

function defaultDeviceName() {
  return describeUserAgent(navigator.userAgent) || "Browser";
}
