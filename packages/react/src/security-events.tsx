/**
 * `<SecurityEvents/>`: the user's security history, newest first, each event a sentence
 * the server wrote for users, with when and from where. Theft is marked. New events
 * after the first load are announced in a polite live region. Unstyled: `sg-` classes.
 */
import { type Ref, useEffect, useId, useRef, useState } from "react";
import type { SecurityEvent } from "@sessionguard/client";
import { describeError, describeUserAgent, formatTime, toDate } from "./messages.ts";
import { type ListHandle, useListHandle } from "./use-resource.ts";
import { useSecurityEvents } from "./use-security-events.ts";

export interface SecurityEventsProps {
  /** Heading text. Default "Security activity". */
  title?: string;
  headingLevel?: 2 | 3 | 4;
  /** Show at most this many events. Default 20. */
  limit?: number;
  className?: string;
  /** `reload()` from outside (see {@link ListHandle}). */
  ref?: Ref<ListHandle>;
}

const WARNING_TYPES = new Set(["refresh_token_reused", "dpop_key_mismatch", "clerk_revoke_failed"]);

export function SecurityEvents(
  { title = "Security activity", headingLevel = 2, limit = 20, className, ref }: SecurityEventsProps,
) {
  const { events, status, error, reload } = useSecurityEvents();
  useListHandle(ref, reload);
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
      {status === "idle" && <p className="sg-events__empty">Sign in to see your security activity.</p>}
      {status === "loading" && <p className="sg-events__loading" aria-busy="true">Loading your security activity…</p>}
      {(status === "ready" || (status === "error" && events.length > 0)) && (
        shown.length === 0
          ? <p className="sg-events__empty">No security events yet.</p>
          : (
            <ol className="sg-events__list" aria-labelledby={`${id}-h`}>
              {shown.map((event) => <EventItem key={event.id} event={event} />)}
            </ol>
          )
      )}
      {status !== "idle" && (
        <button type="button" className="sg-button sg-button--secondary" onClick={() => void reload()}>
          Refresh activity
        </button>
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
