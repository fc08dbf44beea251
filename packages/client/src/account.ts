/**
 * The account calls of a signed-in client: sign out (this session, the others, or all),
 * the user's devices, revoking one, and the security events. Each goes to an account
 * route with the current access token (and a DPoP proof when the session is bound),
 * refreshing first when due; a terminal answer ends the session here.
 */
import type { DeviceKeys } from "./device-keys.ts";
import { errorFromResponse, SessionError, TERMINAL_CODES } from "./errors.ts";
import type { SignedOutReason } from "./events.ts";
import { type Http, readList } from "./http.ts";
import type { Refresher } from "./refresh.ts";
import type { SessionState } from "./session-state.ts";
import type { DeviceSession, SecurityEvent, SignOutScope } from "./types.ts";

/** What the account calls need from the client. */
export interface AccountDeps {
  readonly state: SessionState;
  readonly keys: DeviceKeys;
  readonly http: Http;
  readonly refresher: Refresher;
  /** The current access token, refreshed first when due; null when signed out. */
  accessToken(): Promise<string | null>;
}

/** The account routes, as the client exposes them. */
export class Account {
  readonly #deps: AccountDeps;

  constructor(deps: AccountDeps) {
    this.#deps = deps;
  }

  async signOut(scope: SignOutScope = "local"): Promise<void> {
    const { state } = this.#deps;
    if (!(await state.load())) {
      if (scope === "others") throw new SessionError("not_signed_in", "no session");
      return;
    }
    let failure: unknown;
    try {
      await this.#authed("POST", "/signout", { scope });
    } catch (err) {
      failure = err;
    }
    if (scope !== "others" && state.current) await state.end("signed_out");
    // Already ended by the server: for local/global that is what the caller wanted.
    if (failure instanceof SessionError && TERMINAL_CODES.has(failure.code) && scope !== "others") return;
    if (failure) throw failure;
  }

  async listSessions(): Promise<DeviceSession[]> {
    return await readList(await this.#authed("GET", "/sessions"), "sessions");
  }

  async revokeSession(id: string): Promise<void> {
    const { state } = this.#deps;
    const current = await state.load();
    await this.#authed("DELETE", `/sessions/${encodeURIComponent(id)}`);
    if (current && current.session_id === id && state.current) await state.end("signed_out");
  }

  async listEvents(): Promise<SecurityEvent[]> {
    return await readList(await this.#authed("GET", "/events"), "events");
  }

  /**
   * A request to an account route with the current access token (and a proof, when the
   * session is bound). Refreshes first when due, and once more when the server refused
   * a token we thought fresh; a terminal code ends the session here.
   */
  async #authed(method: string, path: string, body?: unknown): Promise<Response> {
    const { state, keys, http, refresher } = this.#deps;
    for (let attempt = 0;; attempt++) {
      const token = await this.#deps.accessToken();
      if (!token) throw new SessionError("not_signed_in", "no session");
      const session = state.current;
      const signer = session?.dpop_jkt ? await keys.signerFor(session) : null;
      const res = await http.exchange(method, path, { token, body, signer, bound: signer !== null });
      if (res.ok) return res;
      const err = await errorFromResponse(res);
      if (err.code === "invalid_token" && attempt === 0 && state.current) {
        // The access token was refused though we think it fresh (signing key rotated,
        // clock trouble): rotate once and retry; a dead session then surfaces from /refresh.
        try {
          await refresher.refresh(state.current, true);
        } catch {
          throw err;
        }
        continue;
      }
      if (TERMINAL_CODES.has(err.code) && state.current) {
        await state.end(err.code as SignedOutReason, err);
      }
      throw err;
    }
  }
}
