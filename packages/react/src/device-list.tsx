/**
 * `<DeviceList/>`: the user's signed-in devices as a table, a "Sign out" button per device,
 * and "Sign out everywhere else". It keeps itself current (a poll while the page is
 * visible, on returning to the page, after its own actions: see `useDevices`). Unstyled:
 * every part has a `sg-` class name; styles.css, the optional theme, turns the table into
 * a list of cards in a narrow container (each cell labelled from its `data-label`).
 *
 * Accessibility: a table with column headers and a caption; native buttons (keyboard
 * and focus for free) named after their device; changes announced in a polite live
 * region, failures in `role="alert"`; after a row disappears, focus moves to the
 * heading instead of being lost with the button.
 */
import { type Ref, useId, useRef, useState } from "react";
import type { DeviceSession } from "@sessionguard/client";
import { describeBrowser, describeError, describeUserAgent, formatTime, toDate } from "./messages.ts";
import { useDevices } from "./use-devices.ts";
import { type ListHandle, type ResourceOptions, useListHandle } from "./use-resource.ts";

/** What the list says after an action, and the badge of this device; override to reword or translate. */
export interface DeviceListMessages {
  /** The badge after this device's name. */
  thisDevice: string;
  /** Another device was revoked. */
  revoked(name: string): string;
  /** This device's own row was used to sign out. */
  signedOutHere: string;
  /** "Sign out everywhere else" succeeded. */
  signedOutOthers: string;
  /** @deprecated Not shown any more: the list has no reload button, it updates itself. */
  reloaded: string;
}

const MESSAGES: DeviceListMessages = {
  thisDevice: "(this device)",
  revoked: (name) => `${name} was signed out.`,
  signedOutHere: "You signed out on this device.",
  signedOutOthers: "You signed out on every other device.",
  reloaded: "Device list updated.",
};

export interface DeviceListProps {
  /** Heading text. Default "Your devices". */
  title?: string;
  /** Heading level, 2 by default. */
  headingLevel?: 2 | 3 | 4;
  className?: string;
  /** Wording of announcements and the badge; any left out keep the defaults. */
  messages?: Partial<DeviceListMessages>;
  /**
   * Where announcements go. By default the list has its own polite live region; a page
   * with one status region for everything passes its setter here instead.
   */
  announce?: (message: string) => void;
  /** `reload()` from outside (see {@link ListHandle}). */
  ref?: Ref<ListHandle>;
  /** Milliseconds between reloads while the page is visible, 0 for none; default 30 000. */
  refreshInterval?: ResourceOptions["refreshInterval"];
}

/** A device's name as the user sees it. */
export function deviceLabel(device: DeviceSession): string {
  return device.device_name || describeUserAgent(device.user_agent) || "Unknown device";
}

export function DeviceList(
  { title = "Your devices", headingLevel = 2, className, messages, announce, ref, refreshInterval }: DeviceListProps,
) {
  const { devices, status, error, revoke, signOutOthers, reload } = useDevices({ refreshInterval });
  const [announcement, setAnnouncement] = useState("");
  const say = announce ?? setAnnouncement;
  const m = { ...MESSAGES, ...messages };
  useListHandle(ref, reload);
  const [failure, setFailure] = useState<string | null>(null);
  const [pending, setPending] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const id = useId();
  const Heading = `h${headingLevel}` as "h2";

  const act = async (key: string, action: () => Promise<void>, done: string) => {
    setPending(key);
    setFailure(null);
    try {
      await action();
      say(done);
      headingRef.current?.focus();
    } catch (err) {
      setFailure(describeError(err as { code?: string }));
    } finally {
      setPending(null);
    }
  };

  const others = devices.filter((d) => !d.current).length;
  const shownError = failure ?? (status === "error" ? describeError(error) : null);

  return (
    <section className={["sg-devices", className].filter(Boolean).join(" ")} aria-labelledby={`${id}-h`}>
      <Heading id={`${id}-h`} className="sg-devices__title" tabIndex={-1} ref={headingRef}>{title}</Heading>
      {!announce && <p className="sg-devices__live sg-live" role="status" aria-live="polite">{announcement}</p>}
      {shownError && <p className="sg-devices__error sg-error" role="alert">{shownError}</p>}
      {status === "idle"
        ? <p className="sg-devices__empty">Sign in to see your devices.</p>
        : (
          <table className="sg-devices__table" aria-busy={status === "loading" || pending !== null}>
            <caption className="sg-devices__caption">
              {status === "loading" ? "Loading your devices…" : `${devices.length} signed-in ${
                devices.length === 1 ? "device" : "devices"
              }`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Browser</th>
                <th scope="col">Last active</th>
                <th scope="col">Signed in</th>
                <th scope="col">IP address</th>
                <th scope="col"><span className="sg-visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {devices.map((device) => {
                const name = deviceLabel(device);
                return (
                  <tr
                    key={device.id}
                    className={device.current ? "sg-devices__row sg-devices__row--current" : "sg-devices__row"}
                    data-current={device.current || undefined}
                  >
                    <th scope="row" className="sg-devices__name" title={device.user_agent ?? undefined}>
                      {name}
                      {device.current && <>{" "}<span className="sg-devices__badge">{m.thisDevice}</span></>}
                    </th>
                    <td data-label="Browser">{describeBrowser(device.user_agent) || "—"}</td>
                    <td data-label="Last active"><Time value={device.last_active_at} /></td>
                    <td data-label="Signed in"><Time value={device.created_at} /></td>
                    <td data-label="IP address">{device.ip ?? "—"}</td>
                    <td className="sg-devices__action">
                      <button
                        type="button"
                        className="sg-button sg-button--danger"
                        aria-label={`Sign out ${name}`}
                        disabled={pending !== null}
                        onClick={() =>
                          act(
                            device.id,
                            () => revoke(device.id),
                            device.current ? m.signedOutHere : m.revoked(name),
                          )}
                      >
                        Sign out
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      {status !== "idle" && (
        <div className="sg-devices__actions">
          <button
            type="button"
            className="sg-button"
            disabled={pending !== null || others === 0}
            onClick={() => act("others", signOutOthers, m.signedOutOthers)}
          >
            Sign out everywhere else
          </button>
        </div>
      )}
    </section>
  );
}

function Time({ value }: { value: string | number }) {
  const date = toDate(value);
  return Number.isNaN(date.getTime())
    ? <span>—</span>
    : <time dateTime={date.toISOString()}>{formatTime(value)}</time>;
}
