/**
 * `listenForRevocation(sessions, supabase)`: closes the app's Realtime channels and signs
 * out the moment the server ends this session, however it ends.
 *
 * Every security event is announced privately on the Realtime topic `sessionguard:<Clerk
 * user id>` (docs/clerk-webhook.md, "Announcements"): the broadcast's event is the event's
 * type, its payload `{ id, type, session_id, user_id, created_at, description }`. Realtime
 * checks channel policies when a channel joins and when a new access token reaches it, not
 * per message (docs/surfaces.md, "When Realtime asks"), so a channel a revoked session has
 * open keeps receiving until its token expires, and a revoked session never gets a new
 * token. While a session is live this listens on its user's topic; when an announcement
 * says that THIS session ended, it removes every channel and ends the session here, with no
 * server call (the server ended it already): storage cleared, the device key forgotten,
 * the other tabs told, `signedOut` emitted, as a refused refresh does.
 *
 * How supabase-js hands our tokens to Realtime (@supabase/supabase-js and
 * @supabase/realtime-js 2.109.0, src/SupabaseClient.ts and src/RealtimeClient.ts,
 * src/RealtimeChannel.ts): with the `accessToken` option the SupabaseClient constructor
 * gives RealtimeClient `accessToken: this._getAccessToken` and calls
 * `realtime.setAuth(token)` once with the token it fetched; RealtimeClient `_performAuth`
 * records a token passed in as set by hand (`_manuallySetToken`), and `_setAuthSafely`
 * never refreshes such a token. `setAuth()` without an argument switches to the callback:
 * it is then called again after every heartbeat sent (`_wrapHeartbeatCallback`, every 25 s)
 * and after every join, and a token that differs is pushed to each joined channel as an
 * `access_token` message and put in its join payload. A channel's join carries
 * `accessTokenValue` as it is at `subscribe()` (RealtimeChannel `subscribe`), so
 * `setAuth()` is awaited before subscribing: without it the join may carry no token, and
 * Realtime falls back to the API key.
 *
 * supabase-js is typed here by shape only: this package depends on nothing.
 */
import { announcedEnd, type SessionClient } from "./client.ts";
import type { SignedOutReason } from "./events.ts";

/** The part of a supabase-js `RealtimeChannel` used here. */
export interface RevocationChannel {
  on(
    type: "broadcast",
    filter: { event: string },
    callback: (message: { event: string; payload?: unknown }) => void,
  ): RevocationChannel;
  subscribe(callback?: (status: string, error?: Error) => void): RevocationChannel;
}

/** The part of a supabase-js client (`createClient(...)`) used here. */
export interface RevocationSupabase {
  readonly realtime: { setAuth(token?: string | null): Promise<void> };
  channel(name: string, options: { config: { private: boolean } }): RevocationChannel;
  removeChannel(channel: RevocationChannel): Promise<unknown>;
  removeAllChannels(): Promise<unknown>;
}

export interface RevocationListenerOptions {
  /**
   * Told when the topic cannot be joined (no policy lets this session read it, or the
   * session is dead already: then the refresh this triggers signs out) or a step fails. Default: `console.warn`, once per message.
   */
  onError?: (error: Error) => void;
  /**
   * Told of every announcement on the user's topic, whichever of the user's sessions it is
   * about (a sign-in elsewhere, a device signed out, an organization switched): a list of
   * devices or events can reload at once instead of at its next poll. Called after this
   * session's own end has been acted on.
   */
  onAnnouncement?: (announcement: Announcement) => void;
}

/** One security event as announced on `sessionguard:<user id>`. */
export interface Announcement {
  /** The event's type, e.g. `session_started`, `session_revoked`. */
  readonly type: string;
  /** The session it is about, or null. */
  readonly sessionId: string | null;
}

/**
 * The event types that end a session (the reasons `sessionguard.families.revoked_reason`
 * may hold, each written as an event of that type), and the reason the client reports:
 * the code a refresh of the dead session would have been refused with, except
 * `signed_out`, which this client's own `signOut` may be racing to report.
 */
const ENDING: Readonly<Record<string, SignedOutReason>> = {
  signed_out: "signed_out",
  session_revoked: "session_revoked",
  clerk_session_ended: "session_revoked",
  user_deleted: "session_revoked",
  refresh_token_reused: "refresh_token_reused",
  session_expired: "session_expired",
};

/** The `signedOut` reason for an announced event type, or null when it ends no session. */
export function endingReason(eventType: string): SignedOutReason | null {
  return Object.hasOwn(ENDING, eventType) ? ENDING[eventType]! : null;
}

/**
 * Listens on `sessionguard:<user id>` while `sessions` holds a session, follows sign-in,
 * sign-out and a change of session, and on the announcement that this session ended
 * removes all of `supabase`'s channels and signs out here. Any other sign-out removes all
 * channels too: what the session's token opened closes with it. Returns a function that
 * stops listening (and leaves the topic; other channels stay).
 */
export function listenForRevocation(
  sessions: SessionClient,
  supabase: RevocationSupabase,
  options: RevocationListenerOptions = {},
): () => void {
  // By default each distinct problem is logged once: realtime-js retries a lost socket for ever.
  const warned = new Set<string>();
  const report = options.onError ?? ((error: Error) => {
    if (warned.has(error.message)) return;
    warned.add(error.message);
    console.warn("sessionguard: revocation channel:", error.message);
  });
  const endHere = announcedEnd(sessions) ?? (async (sessionId: string) => {
    // A client from another copy of this package: sign out through the server instead.
    if ((await sessions.getSession())?.session_id !== sessionId) return false;
    await sessions.signOut("local").catch(() => undefined);
    return true;
  });
  let stopped = false;
  let joined: { sessionId: string; channel: RevocationChannel } | null = null;
  let closing: Promise<unknown> | null = null;
  // Steps run one at a time, so a sign-in racing a sign-out never leaves a stale channel.
  let queue: Promise<void> = Promise.resolve();
  const run = (step: () => Promise<void>) => {
    queue = queue.then(step).catch((error) => report(asError(error)));
  };

  // One removal at a time: removing channels that are already leaving waits for a timeout.
  const closeAll = () => {
    joined = null;
    closing ??= supabase.removeAllChannels().finally(() => (closing = null));
    return closing;
  };

  const tell = (event: string, payload: unknown) => {
    if (!options.onAnnouncement) return;
    const about = (payload as { session_id?: unknown } | null)?.session_id;
    try {
      options.onAnnouncement({ type: event, sessionId: typeof about === "string" ? about : null });
    } catch (error) {
      report(asError(error));
    }
  };

  const onAnnouncement = (sessionId: string, event: string, payload: unknown) => {
    if (stopped) return;
    const reason = endingReason(event);
    if (!reason || (payload as { session_id?: unknown } | null)?.session_id !== sessionId) {
      tell(event, payload);
      return;
    }
    (async () => {
      // Still the session held here (a sign-in may have replaced it): read from memory.
      if ((await sessions.getSession())?.session_id !== sessionId) return;
      // Channels first: they stop receiving as soon as the leave reaches Realtime.
      closeAll().catch((error) => report(asError(error)));
      await endHere(sessionId, reason);
    })().catch((error) => report(asError(error))).finally(() => tell(event, payload));
  };

  const follow = () =>
    run(async () => {
      const session = stopped ? null : await sessions.getSession();
      if (joined && joined.sessionId === session?.session_id) return;
      if (joined) {
        const { channel } = joined;
        joined = null;
        await supabase.removeChannel(channel);
      }
      if (!session) return;
      // A removal still running ends by disconnecting the socket: join after it.
      await closing?.catch(() => undefined);
      await supabase.realtime.setAuth();
      // Signed out or switched while the token was fetched: the queued step follows it.
      if (stopped || (await sessions.getSession())?.session_id !== session.session_id) return;
      const topic = `sessionguard:${session.user_id}`;
      const channel = supabase.channel(topic, { config: { private: true } });
      joined = { sessionId: session.session_id, channel };
      channel
        .on("broadcast", { event: "*" }, ({ event, payload }) => onAnnouncement(session.session_id, event, payload))
        .subscribe((status, error) => {
          if (status !== "CHANNEL_ERROR" && status !== "TIMED_OUT") return;
          report(new Error(`cannot listen on ${topic}: ${error?.message ?? status}`));
          // Refused by the policies (Realtime's "Unauthorized: You do not have permissions
          // to read from this Channel topic"): asking again every 10 s changes nothing. The
          // session may have ended while the socket was down, its announcement missed: one
          // refresh asks the server, and ends the session here (closing every channel) if so.
          if (/unauthorized/i.test(error?.message ?? "") && joined?.channel === channel) {
            joined = null;
            supabase.removeChannel(channel).catch((e) => report(asError(e)));
            sessions.refresh().catch(() => undefined);
          }
        });
    });

  const listeners = [
    sessions.on("signedIn", follow),
    sessions.on("signedOut", () => {
      if (stopped) return;
      closeAll().catch((error) => report(asError(error)));
    }),
    // The new token reaches open channels now rather than at the next heartbeat.
    sessions.on("tokensRefreshed", () => {
      supabase.realtime.setAuth().catch((error) => report(asError(error)));
    }),
  ];
  follow();

  return () => {
    if (stopped) return;
    stopped = true;
    for (const off of listeners) off();
    follow();
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
