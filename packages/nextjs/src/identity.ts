/**
 * Who the identity provider says is signed in, as the proxy needs it: a user id (or
 * null) and a way to get a fresh session token for `/start`.
 */

/** The identity behind the request (Clerk, or any provider whose tokens the session function trusts). */
export interface Identity {
  /** The signed-in user's id, or null when signed out. */
  readonly userId: string | null;
  /** A fresh session token for `/start` (Clerk: `auth().getToken()`), or null. */
  getToken(): Promise<string | null>;
}

/** The part of Clerk's `auth()` object (`@clerk/nextjs/server`) this adapter reads. */
export interface ClerkAuthLike {
  readonly userId: string | null;
  getToken(): Promise<string | null>;
}

/**
 * Clerk's `auth()` inside `clerkMiddleware` as an {@link Identity}:
 *
 *   export default clerkMiddleware(async (auth, req) => (await sessionguard(req, clerkIdentity(await auth()))).response);
 */
export function clerkIdentity(auth: ClerkAuthLike): Identity {
  return { userId: auth.userId, getToken: () => auth.getToken() };
}
