/**
 * `client.updateClaims(clerkToken)`: after the user switches organization in Clerk, or
 * passes Clerk's reverification, hands a fresh Clerk session token of the same Clerk
 * session to `POST /claims` (P15). The server records the new organization and
 * verification time on the session (what `sessionguard.org_id()` and
 * `verified_within()` read on the next query) and answers an access token that carries
 * them; the refresh token is unchanged. Runs under the client's refresh lock, so it
 * neither crosses a rotation in this tab nor in another, and the new access token is
 * stored and handed to the other tabs like a refreshed one.
 */
import type { ClientSettings } from "./client-options.ts";
import type { DeviceKeys } from "./device-keys.ts";
import { errorFromResponse, SessionError } from "./errors.ts";
import type { Http } from "./http.ts";
import type { SessionState } from "./session-state.ts";
import { info } from "./stored-session.ts";
import type { SessionInfo } from "./types.ts";

/** The session's Clerk organization as `/claims` recorded it, or null for none. */
export interface SessionOrganization {
  id: string;
  role: string | null;
  slug: string | null;
  permissions: string[];
}

/** What the client needs to update claims; `accessToken` refreshes first when due. */
export interface ClaimsDeps {
  readonly settings: ClientSettings;
  readonly state: SessionState;
  readonly keys: DeviceKeys;
  readonly http: Http;
  accessToken(): Promise<string | null>;
}

/** Sends a fresh Clerk session token to `/claims`; rejects with the server's code (`invalid_token` for another session's or a stale token). */
export async function updateClaims(
  deps: ClaimsDeps,
  clerkToken: string,
): Promise<SessionInfo & { organization: SessionOrganization | null }> {
  if (typeof clerkToken !== "string" || clerkToken === "") {
    throw new SessionError("invalid_request", "a Clerk session token is required");
  }
  const { settings, state, keys, http } = deps;
  // Refreshed first when due, outside the lock: a refresh takes the same lock.
  if (!(await deps.accessToken())) throw new SessionError("not_signed_in", "no session");
  return await settings.coordinator.withLock(settings.lockName, async () => {
    // Under the lock, the latest tokens (another tab may have rotated meanwhile).
    const current = state.current ?? (await state.read());
    if (!current) throw new SessionError("not_signed_in", "no session");
    const token = current.access_token;
    const signer = current.dpop_jkt ? await keys.signerFor(current) : null;
    const res = await http.exchange("POST", "/claims", {
      token,
      body: { clerk_token: clerkToken },
      signer,
      bound: signer !== null,
    });
    if (!res.ok) throw await errorFromResponse(res);
    const body = await res.json() as {
      access_token?: unknown;
      expires_in?: unknown;
      expires_at?: unknown;
      organization?: SessionOrganization | null;
    };
    if (
      typeof body.access_token !== "string" || typeof body.expires_in !== "number" ||
      typeof body.expires_at !== "number"
    ) {
      throw new SessionError("server_error", "malformed /claims answer", { status: res.status });
    }
    // The session still the one we sent for (not signed out meanwhile): keep its refresh token.
    const latest = state.current ?? (await state.read());
    if (latest?.session_id !== current.session_id) {
      throw new SessionError("not_signed_in", "signed out while updating claims");
    }
    const fresh = {
      ...latest,
      access_token: body.access_token,
      expires_in: body.expires_in,
      expires_at: body.expires_at,
      received_at: settings.now(),
    };
    await state.save(fresh);
    state.publish({ type: "tokens", from: state.id, session: fresh });
    state.events.emit("tokensRefreshed", { session: info(fresh), source: "this" });
    return { ...info(fresh), organization: body.organization ?? null };
  });
}
