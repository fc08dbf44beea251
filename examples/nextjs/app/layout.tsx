/**
 * The root layout: Clerk's provider when Clerk keys are set, and the sessionguard client
 * provider fed from the cookie the proxy just refreshed (the render only reads it).
 */
import { ClerkProvider } from "@clerk/nextjs";
import { publicSession } from "@sessionguard/nextjs";
import { getSession, getSignedOutReason } from "@sessionguard/nextjs/server";
import type { ReactNode } from "react";
import { guard } from "../lib/guard.ts";
import { settings } from "../lib/settings.ts";
import { Providers } from "./providers.tsx";
import "./styles.css";

export const metadata = { title: "Notes — Next.js + sessionguard" };

export default async function RootLayout({ children }: { children: ReactNode }) {
  const [session, reason] = await Promise.all([getSession(guard()), getSignedOutReason(guard())]);
  const body = (
    <Providers session={session && publicSession(session)} reason={reason} clerk={settings.clerk}>
      {children}
    </Providers>
  );
  return (
    <html lang="en">
      <body>{settings.clerk ? <ClerkProvider>{body}</ClerkProvider> : body}</body>
    </html>
  );
}
