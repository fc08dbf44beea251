/**
 * `<SecurityEvents/>`: the user's security history, newest first, each event a sentence
 * the server wrote for users, with when and from where. Theft is marked. It keeps itself
 * current (see `useSecurityEvents`), and new events after the first load are announced in
 * a polite live region. Unstyled: `sg-` classes.
 */
import { type Ref, useEffect, useId, useRef, useState } from "react";
import type { SecurityEvent } from "@sessionguard/client";
import { describeError, describeUserAgent, formatTime, toDate } from "./messages.ts";
import { type ListHandle, type ResourceOptions, useListHandle } from "./use-resource.ts";
import { useSecurityEvents } from "./use-security-events.ts";
import { useSession } from "./use-session.ts";

export interface SecurityEventsProps {
  /** Heading text. Default "Security activity". */
  title?: string;
  headingLevel?: 2 | 3 | 4;
  /** Show at most this many events. Default 20. */
  limit?: number;
  className?: string;
  /** `reload()` from outside (see {@link ListHandle}). */
  ref?: Ref<ListHandle>;
  /** Milliseconds between reloads while the page is visible, 0 for none; default 30 000. */
  refreshInterval?: ResourceOptions["refreshInterval"];
  /**
   * When the session ends here for a reason other than signing out (revoked, theft), keep
   * the last list on screen, marked as no longer updating, until the next sign-in or
   * until this component unmounts, so the user can read what happened. Off by default:
   * a signed-out page shows nothing of the account.
   */
  keepAfterSignOut?: boolean;
}

const WARNING_TYPES = new Set(["refresh_token_reused", "dpop_key_mismatch", "clerk_revoke_failed"]);

export function SecurityEvents(
  { title = "Security activity", headingLevel = 2, limit = 20, className, ref, refreshInterval, keepAfterSignOut }:
    SecurityEventsProps,
) {
  const { events: loaded, status, error, reload } = useSecurityEvents({ refreshInterval });
  const { signedOutReason } = useSession();
  useListHandle(ref, reload);
  const lastShown = useRef<SecurityEvent[]>([]);
  if (status === "ready") lastShown.current = loaded;
  const kept = keepAfterSignOut && status === "idle" && signedOutReason !== null && signedOutReason !== "signed_out" &&
    lastShown.current.length > 0;
  const events = kept ? lastShown.current : loaded;
  const [announcement, setAnnouncement] = useState("");
  const seen = useRef<Set<string> | null>(null);
  const id = useId();
  const Heading = `h${headingLevel}` as "h2";

  useEffect(() => {
    if (status !== "ready") {
      if (status === "idle") seen.current = null;
      return;
    }
    const ids = new Set(events.map((e) => e.id));
    if (seen.current) {
      const fresh = events.filter((e) => !seen.current!.has(e.id));
      if (fresh.length === 1) setAnnouncement(`New security event: ${fresh[0]!.description}`);
      else if (fresh.length > 1) setAnnouncement(`${fresh.length} new security events.`);
    }
    seen.current = ids;
  }, [events, status]);

  const shown = events.slice(0, limit);
  return (
    <section className={["sg-events", className].filter(Boolean).join(" ")} aria-labelledby={`${id}-h`}>
      <Heading id={`${id}-h`} className="sg-events__title">{title}</Heading>
      <p className="sg-events__live sg-live" role="status" aria-live="polite">{announcement}</p>
      {status === "error" && <p className="sg-events__error sg-error" role="alert">{describeError(error)}</p>}
      {status === "idle" && !kept && <p className="sg-events__empty">Sign in to see your security activity.</p>}
      {kept && <p className="sg-events__kept">You are signed out: this is your activity as last shown. Sign in to see it now.</p>}
      {status === "loading" && <p className="sg-events__loading" aria-busy="true">Loading your security activity…</p>}
      {(status === "ready" || kept || (status === "error" && events.length > 0)) && (
        shown.length === 0
          ? <p className="sg-events__empty">No security events yet.</p>
          : (
            <ol className="sg-events__list" aria-labelledby={`${id}-h`}>
              {shown.map((event) => <EventItem key={event.id} event={event} />)}
            </ol>
          )
      )}
    </section>
  );
}

function EventItem({ event }: { event: SecurityEvent }) {
  const warning = WARNING_TYPES.has(event.type);
  const date = toDate(event.created_at);
  const where = [event.ip, describeUserAgent(event.user_agent)].filter(Boolean).join(", ");
  return (
    <li
      className={warning ? "sg-events__item sg-events__item--warning" : "sg-events__item"}
      data-type={event.type}
    >
      {!Number.isNaN(date.getTime()) && (
        <time className="sg-events__time" dateTime={date.toISOString()}>{formatTime(event.created_at)}</time>
      )}{" "}
      {warning && <strong className="sg-events__flag">Warning: </strong>}
      <span className="sg-events__description">{event.description}</span>
      {where && <span className="sg-events__where">{` (${where})`}</span>}
    </li>
  );
}
