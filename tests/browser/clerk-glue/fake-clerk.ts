/**
 * A stand-in for clerk-js, Clerk's browser SDK (it loads from the instance's Frontend API,
 * which cannot be reached here), driving the real `@clerk/react` 6.18.0. It has only what
 * that package reads from a headless Clerk instance, per its dist sources:
 *
 * - ClerkProvider-*.mjs `loadHeadlessClerk`: `loaded`, `load()`; `replayInterceptedInvocations`:
 *   `addListener`, and `status` left undefined so the provider reports "ready" itself;
 * - hooks-*.mjs `useAuthBase`: `addListener(cb, { skipInitialEmit })` and
 *   `__internal_lastEmittedResources` (a stable object between emits, for useSyncExternalStore);
 *   `createGetToken`: `session.getToken()`; `createSignOut`: `signOut()`;
 * - @clerk/shared deriveState.mjs: `user.id`, `session.id`, `session.status`,
 *   `session.lastActiveToken.jwt.claims`, which authorization.mjs `resolveAuthState` requires
 *   for a signed-in state.
 *
 * Session tokens come from `npm start`'s local development issuer, so the session function
 * verifies them exactly as it verifies Clerk's. State survives reloads in localStorage.
 */
interface Resources {
  client: { sessions: unknown[] };
  session: unknown;
  user: unknown;
  organization: null;
}

const KEY = "fake-clerk";

export class FakeClerk {
  loaded = false;
  signOutCalls = 0;
  #listeners = new Set<(resources: Resources) => void>();
  #last: Resources = { client: { sessions: [] }, session: null, user: null, organization: null };

  get __internal_lastEmittedResources(): Resources {
    return this.#last;
  }
  get session(): unknown {
    return this.#last.session;
  }
  get user(): unknown {
    return this.#last.user;
  }
  get client(): unknown {
    return this.#last.client;
  }

  async load(): Promise<void> {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? "null") as { userId: string; sessionId: string } | null;
    this.loaded = true;
    this.#set(saved);
  }

  addListener(listener: (resources: Resources) => void, options?: { skipInitialEmit?: boolean }): () => void {
    this.#listeners.add(listener);
    if (this.loaded && !options?.skipInitialEmit) listener(this.#last);
    return () => this.#listeners.delete(listener);
  }

  /** What Clerk's <SignIn/> ends in: a new active session for `userId`. */
  signInAs(userId: string): void {
    const sessionId = `sess_${crypto.randomUUID().replaceAll("-", "")}`;
    localStorage.setItem(KEY, JSON.stringify({ userId, sessionId }));
    this.#set({ userId, sessionId });
  }

  async signOut(): Promise<void> {
    this.signOutCalls++;
    localStorage.removeItem(KEY);
    this.#set(null);
  }

  #set(signed: { userId: string; sessionId: string } | null): void {
    const user = signed ? { id: signed.userId, organizationMemberships: [] } : null;
    const session = signed
      ? {
        id: signed.sessionId,
        status: "active",
        user,
        actor: null,
        factorVerificationAge: null,
        lastActiveToken: { jwt: { claims: { sub: signed.userId, sid: signed.sessionId, sts: "active", v: 2 } } },
        getToken: async () => {
          const url = new URL("/dev/clerk-token", location.origin);
          url.searchParams.set("user", signed.userId);
          url.searchParams.set("sid", signed.sessionId);
          const res = await fetch(url);
          return ((await res.json()) as { token: string }).token;
        },
      }
      : null;
    this.#last = { client: { sessions: session ? [session] : [] }, session, user, organization: null };
    for (const listener of [...this.#listeners]) listener(this.#last);
  }
}
