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
 *   for a signed-in state; `organization.id` (the active organization: `orgId`) and
 *   `user.organizationMemberships[].role`.
 *
 * Session tokens come from `npm start`'s local development issuer, so the session function
 * verifies them exactly as it verifies Clerk's. State survives reloads in localStorage.
 */
interface Resources {
  client: { sessions: unknown[] };
  session: unknown;
  user: unknown;
  organization: { id: string; slug: string } | null;
}

interface Signed {
  userId: string;
  sessionId: string;
  /** The active organization, as Clerk's `setActive({ organization })` leaves it. */
  org?: { id: string; role: string } | null;
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
    const saved = JSON.parse(localStorage.getItem(KEY) ?? "null") as Signed | null;
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

  /** What Clerk's `setActive({ organization })` does: same session, another active organization. */
  setActiveOrganization(org: { id: string; role: string } | null): void {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? "null") as Signed | null;
    if (!saved) throw new Error("not signed in");
    const next = { ...saved, org };
    localStorage.setItem(KEY, JSON.stringify(next));
    this.#set(next);
  }

  async signOut(): Promise<void> {
    this.signOutCalls++;
    localStorage.removeItem(KEY);
    this.#set(null);
  }

  #set(signed: Signed | null): void {
    const org = signed?.org ?? null;
    const user = signed
      ? {
        id: signed.userId,
        organizationMemberships: org ? [{ organization: { id: org.id }, role: `org:${org.role}`, permissions: [] }] : [],
      }
      : null;
    const session = signed
      ? {
        id: signed.sessionId,
        status: "active",
        user,
        actor: null,
        factorVerificationAge: null,
        lastActiveToken: {
          jwt: {
            claims: {
              sub: signed.userId,
              sid: signed.sessionId,
              sts: "active",
              v: 2,
              ...(org ? { o: { id: org.id, rol: org.role } } : {}),
            },
          },
        },
        getToken: async () => {
          const url = new URL("/dev/clerk-token", location.origin);
          url.searchParams.set("user", signed.userId);
          url.searchParams.set("sid", signed.sessionId);
          if (org) {
            url.searchParams.set("org", org.id);
            url.searchParams.set("role", org.role);
          }
          const res = await fetch(url);
          return ((await res.json()) as { token: string }).token;
        },
      }
      : null;
    this.#last = {
      client: { sessions: session ? [session] : [] },
      session,
      user,
      organization: org ? { id: org.id, slug: org.id.slice(4) } : null,
    };
    for (const listener of [...this.#listeners]) listener(this.#last);
  }
}
