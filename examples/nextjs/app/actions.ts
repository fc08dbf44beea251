"use server";
/**
 * Server Actions: the only place besides the proxy and Route Handlers where Next.js lets
 * the example write cookies. Each one passes the CSRF check first (sessionGuardAction).
 *
 * Each ends with `revalidatePath("/")`, never `redirect("/")`: Next.js renders a redirect
 * target by fetching it from itself, through the proxy, and drops that fetch's
 * `Set-Cookie`, so a rotation made there would never reach the browser.
 */
import { createSessionGuard } from "@sessionguard/server";
import { withCookies } from "@sessionguard/nextjs";
import { createServerSupabase, sessionGuardAction } from "@sessionguard/nextjs/server";
import { cookies } from "next/headers";
import { revalidatePath } from "next/cache";
import { guard, guardOptions } from "../lib/guard.ts";
import { LOCAL_IDENTITY_COOKIE, localIdentity } from "../lib/local-identity.ts";
import { settings } from "../lib/settings.ts";

const token = (form: FormData) => {
  const value = form.get("csrf_token");
  return typeof value === "string" ? value : null;
};

/**
 * Local development issuer only: sign in as a demo user and start the session from the
 * issuer's token at once (the render that follows this action already has it). Later
 * requests find it in the proxy, which ends it when the identity cookie goes.
 */
export async function signInLocally(form: FormData): Promise<void> {
  await sessionGuardAction(guard(), token(form), async (g, request) => {
    const user = String(form.get("user") || "demo").replace(/[^A-Za-z0-9_-]/g, "").slice(0, 64) || "demo";
    const withIdentity = withCookies(request, [`${LOCAL_IDENTITY_COOKIE}=${user}; Path=/`]);
    const clerkToken = await localIdentity(withIdentity).getToken();
    if (!clerkToken) throw new Error("the local development issuer gave no token: is `npm start` running?");
    const state = await g.start(request, clerkToken, { deviceName: String(form.get("device") || "") || undefined });
    (await cookies()).set(LOCAL_IDENTITY_COOKIE, user, { path: "/", httpOnly: true, sameSite: "lax" });
    // An explicit sign-in: a reason kept from the last session is no longer news (start clears it).
    return { result: null, setCookies: state.setCookies };
  });
  revalidatePath("/");
}

/** Signs out of sessionguard (scope local, others or global) and, locally, of the demo identity. */
export async function signOut(form: FormData): Promise<void> {
  const scope = form.get("scope") === "others" ? "others" : form.get("scope") === "global" ? "global" : "local";
  await sessionGuardAction(guard(), token(form), async (g, request) => {
    const state = await g.signOut(request, scope);
    if (scope !== "others" && !settings.clerk) (await cookies()).delete(LOCAL_IDENTITY_COOKIE);
    return { result: null, setCookies: state.setCookies };
  });
  revalidatePath("/");
}

/** Ends another device's session (the device list's "Revoke"). */
export async function revokeDevice(form: FormData): Promise<void> {
  await sessionGuardAction(guard(), token(form), async (g, request) => {
    const session = g.read(request);
    if (session) await g.revoke(session, String(form.get("session_id")));
    return { result: null };
  });
  revalidatePath("/");
}

/** Adds a note through the Data API, as the user (RLS decides). */
export async function addNote(form: FormData): Promise<void> {
  await sessionGuardAction(guard(), token(form), async () => {
    const supabase = await createServerSupabase(guard(), settings.supabase);
    const body = String(form.get("body") ?? "").slice(0, 500);
    if (supabase && body) await supabase.from("notes").insert({ body });
    return { result: null };
  });
  revalidatePath("/");
}

/**
 * The theft demo: a thief with a copy of this browser's cookie refreshes it twice from
 * another server instance that holds the same key (as a replay through the app would),
 * then this browser's next refresh presents its own copy, now two rotations old: the
 * session function takes that for reuse, revokes the session, and the page says why.
 */
export async function simulateTheft(form: FormData): Promise<void> {
  await sessionGuardAction(guard(), token(form), async (g, request) => {
    const thief = await createSessionGuard(guardOptions);
    let stolen = request;
    for (let i = 0; i < 2; i++) stolen = withCookies(stolen, (await thief.refreshIfDue(stolen, { force: true })).setCookies);
    const mine = await g.refreshIfDue(request, { force: true });
    if (mine.reason && !settings.clerk) (await cookies()).delete(LOCAL_IDENTITY_COOKIE);
    return { result: null, setCookies: mine.setCookies };
  });
  revalidatePath("/");
}
