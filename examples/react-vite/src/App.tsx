/**
 * Local mode: no Clerk publishable key configured, so identity comes from `npm start`'s
 * LOCAL DEVELOPMENT ISSUER. The same `useSessionSync` that drives the Clerk glue keeps
 * sessionguard in step with it.
 */
import { type FormEvent, useState } from "react";
import { useSessionSync } from "@sessionguard/react";
import { Account } from "./Account.tsx";
import { TheftDemo } from "./TheftDemo.tsx";
import { useLocalIdentity } from "./local-identity.ts";
import { localOrganizationName, OrganizationPicker } from "./OrganizationPicker.tsx";

export function App() {
  const identity = useLocalIdentity();
  const [deviceName, setDeviceName] = useState<string | undefined>(undefined);
  const sync = useSessionSync(identity, deviceName ? { deviceName } : {});

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get("device-name") ?? "").trim();
    setDeviceName(name || undefined);
    identity.signIn();
  };

  return (
    <Account
      banner={
        <p className="banner">
          Local development: you sign in through the local development issuer of <code>npm start</code>, not a real
          Clerk instance.
        </p>
      }
      signIn={
        <section aria-labelledby="signin-heading" className="card">
          <h2 id="signin-heading">Sign in</h2>
          <form onSubmit={onSubmit}>
            <label htmlFor="device-name">Name this device</label>{" "}
            <input id="device-name" name="device-name" autoComplete="off" maxLength={100} placeholder="e.g. Work laptop" />
            {" "}
            <button type="submit" className="sg-button" disabled={sync.status === "starting"}>
              {sync.status === "starting" ? "Signing in…" : "Sign in as the demo user"}
            </button>
          </form>
          {sync.status === "error" && (
            <p role="alert" className="notice">Could not sign in: {String((sync.error as Error)?.message ?? sync.error)}</p>
          )}
        </section>
      }
      organization={<OrganizationPicker identity={identity} error={sync.status === "ready" ? sync.error : null} />}
      organizationName={localOrganizationName}
      devTools={(story) => <TheftDemo {...story} />}
    />
  );
}
