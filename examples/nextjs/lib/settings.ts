/**
 * The example's settings, from the environment (`examples/nextjs/.env.local` or the shell):
 *
 *   SESSIONGUARD_URL             the session function (default: npm start's, http://127.0.0.1:54321/functions/v1/session)
 *   SESSIONGUARD_SERVER_KEY      the server's private P-256 JWK (`npm run example:next` makes one in .local/)
 *   SESSIONGUARD_REFRESH_MARGIN  refresh this many seconds before the access token expires (default 60)
 *   SUPABASE_URL, SUPABASE_ANON_KEY   the Data API for the notes (default: the local stack's /rest/v1)
 *   NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY, CLERK_SECRET_KEY   Clerk mode; without them the local development issuer
 *   SG_STACK_URL                 the local stack, for its development issuer (default http://127.0.0.1:54321)
 */
const stack = (process.env.SG_STACK_URL ?? "http://127.0.0.1:54321").replace(/\/+$/, "");

export const settings = {
  stack,
  sessionUrl: process.env.SESSIONGUARD_URL ?? `${stack}/functions/v1/session`,
  serverKey: process.env.SESSIONGUARD_SERVER_KEY || null,
  refreshMargin: Number(process.env.SESSIONGUARD_REFRESH_MARGIN ?? 60),
  supabase: {
    url: process.env.SUPABASE_URL ?? stack,
    // The local stack's Data API takes the same fixed publishable key `supabase start` prints.
    anonKey: process.env.SUPABASE_ANON_KEY ?? "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH",
  },
  /** Clerk only when both keys are set; otherwise the labelled local development issuer. */
  clerk: Boolean(process.env.NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY && process.env.CLERK_SECRET_KEY),
} as const;
