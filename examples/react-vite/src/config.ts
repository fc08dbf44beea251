/**
 * Where things are, from Vite's `VITE_*` environment (examples/react-vite/.env.local):
 *
 *   VITE_CLERK_PUBLISHABLE_KEY  sign in with Clerk's <SignIn/>; without it, the local development issuer
 *   VITE_SESSION_URL            the session function (default: this origin, proxied to `npm start`)
 *   VITE_SUPABASE_URL           a hosted Supabase project, for the notes (the local stack has no Data API)
 *   VITE_SUPABASE_ANON_KEY      its anon key
 */
const env = import.meta.env;

export const config = {
  clerkPublishableKey: (env.VITE_CLERK_PUBLISHABLE_KEY as string | undefined) || null,
  sessionUrl: ((env.VITE_SESSION_URL as string | undefined) || `${location.origin}/functions/v1/session`)
    .replace(/\/+$/, ""),
  supabase: env.VITE_SUPABASE_URL && env.VITE_SUPABASE_ANON_KEY
    ? { url: env.VITE_SUPABASE_URL as string, anonKey: env.VITE_SUPABASE_ANON_KEY as string }
    : null,
} as const;
