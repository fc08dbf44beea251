/**
 * Where things are, from Vite's `VITE_*` environment (examples/react-vite/.env.local):
 *
 *   VITE_CLERK_PUBLISHABLE_KEY  sign in with Clerk's <SignIn/>; without it, the local development issuer
 *   VITE_SESSION_URL            the session function (default: this origin, proxied to `npm start`)
 *   VITE_SUPABASE_URL           a hosted Supabase project, for the notes (default: this origin, whose
 *                               /rest/v1 is proxied to `npm start`'s Data API)
 *   VITE_SUPABASE_ANON_KEY      its anon (publishable) key (default: the local one, as `supabase start` prints it)
 */
const env = import.meta.env;

/** `npm start`'s (and `supabase start`'s) local publishable key: public, fixed, local only. */
const LOCAL_PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";

export const config = {
  clerkPublishableKey: (env.VITE_CLERK_PUBLISHABLE_KEY as string | undefined) || null,
  sessionUrl: ((env.VITE_SESSION_URL as string | undefined) || `${location.origin}/functions/v1/session`)
    .replace(/\/+$/, ""),
  supabase: env.VITE_SUPABASE_URL && env.VITE_SUPABASE_ANON_KEY
    ? { url: env.VITE_SUPABASE_URL as string, anonKey: env.VITE_SUPABASE_ANON_KEY as string }
    : { url: location.origin, anonKey: LOCAL_PUBLISHABLE_KEY },
} as const;
