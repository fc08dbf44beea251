/**
 * What sessionguard does beyond its own database when it catches a stolen
 * refresh token (P2): revoke the Clerk session the session started from, so the
 * thief cannot sign in again with it (`CLERK_SECRET_KEY`), and tell the app's
 * backend through the signed security webhook (`SECURITY_WEBHOOK_URL`).
 *
 * The session is already revoked in Postgres when this runs; both calls are
 * extra. So the responder never throws, and the caller's 401 waits at most
 * `waitMs` for the Clerk revocation (by default one attempt's timeout). Whatever
 * is still running then carries on in the background (handed to `waitUntil`,
 * Supabase's `EdgeRuntime.waitUntil`, when given); a Clerk revocation that
 * finally fails is passed to `recordFailure`, to be stored as a security event
 * rather than lost.
 */
import { type ClerkApi, createClerkApi, type RevokeOutcome } from "./clerk-api.ts";
import type { TheftResponseSettings } from "./config/theft-response.ts";
import { describe } from "./describe-error.ts";
import { createSecurityWebhook, type SecurityWebhook } from "./security-webhook.ts";

/** The `type` of the security webhook message sent for a theft. */
export const THEFT_WEBHOOK_TYPE = "session.refresh_token_reused";

/** A detected theft, as the refresh route knows it. */
export interface Theft {
  readonly userId: string;
  /** The session whose spent token was replayed. */
  readonly sessionId: string;
  /** The Clerk session it was started from (`sess_...`), if known. */
  readonly clerkSessionId: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** `SESSION_THEFT_SCOPE` in force ("family": this session only): what was revoked locally. */
  readonly scope: "family" | "user";
  readonly detectedAt: Date;
}

/** A Clerk revocation that did not succeed after every attempt. */
export interface TheftFailure {
  readonly kind: "clerk_revoke_failed";
  readonly theft: Theft;
  readonly outcome: Extract<RevokeOutcome, { ok: false }>;
}

/** One line of the responder's log. */
export interface TheftLogEntry {
  readonly level: "info" | "error";
  readonly code:
    | "clerk_revoked"
    | "clerk_revoke_failed"
    | "security_webhook_sent"
    | "security_webhook_failed"
    | "theft_response_error";
  readonly sessionId: string;
  readonly detail?: string;
}

/** What the responder needs; each side effect is optional. */
export interface TheftResponderDeps {
  readonly clerkApi?: ClerkApi | null;
  readonly securityWebhook?: SecurityWebhook | null;
  /** Stores a failed Clerk revocation (a security event). May reject; the rejection is logged. */
  readonly recordFailure: (failure: TheftFailure) => Promise<void>;
  /** Longest the returned promise waits for Clerk, ms. Default: the Clerk client's per-attempt timeout. */
  readonly waitMs?: number;
  /** Keeps background work alive after the response (Supabase: `EdgeRuntime.waitUntil`). */
  readonly waitUntil?: (work: Promise<unknown>) => void;
  readonly log?: (entry: TheftLogEntry) => void;
}

/** Responds to one theft; resolves within `waitMs`, never rejects. */
export type TheftResponder = (theft: Theft) => Promise<void>;

/** Builds the responder. */
export function createTheftResponder(deps: TheftResponderDeps): TheftResponder {
  const { clerkApi, securityWebhook, recordFailure } = deps;
  const log = deps.log ?? ((entry: TheftLogEntry) => console.warn(JSON.stringify(entry)));
  const waitMs = deps.waitMs ?? clerkApi?.timeoutMs ?? 0;
  const logError = (theft: Theft, error: unknown) =>
    log({
      level: "error",
      code: "theft_response_error",
      sessionId: theft.sessionId,
      detail: describe(error),
    });

  async function revokeAtClerk(theft: Theft, clerkSessionId: string): Promise<void> {
    const outcome = await clerkApi!.revokeSession(clerkSessionId);
    if (outcome.ok) {
      log({
        level: "info",
        code: "clerk_revoked",
        sessionId: theft.sessionId,
        detail: `${outcome.attempts} attempt(s)`,
      });
      return;
    }
    log({
      level: "error",
      code: "clerk_revoke_failed",
      sessionId: theft.sessionId,
      detail: `${outcome.reason} after ${outcome.attempts} attempt(s): ${outcome.detail}`,
    });
    try {
      await recordFailure({ kind: "clerk_revoke_failed", theft, outcome });
    } catch (error) {
      logError(theft, error);
    }
  }

  async function announce(theft: Theft): Promise<void> {
    const outcome = await securityWebhook!.send(THEFT_WEBHOOK_TYPE, {
      user_id: theft.userId,
      session_id: theft.sessionId,
      clerk_session_id: theft.clerkSessionId,
      ip: theft.ip,
      user_agent: theft.userAgent,
      scope: theft.scope,
      detected_at: Math.floor(theft.detectedAt.getTime() / 1000),
    });
    log({
      level: outcome.ok ? "info" : "error",
      code: outcome.ok ? "security_webhook_sent" : "security_webhook_failed",
      sessionId: theft.sessionId,
      detail: `${outcome.id}, ${outcome.attempts} attempt(s)${outcome.ok ? "" : `: ${outcome.detail}`}`,
    });
  }

  const guarded = (theft: Theft, work: () => Promise<void>): Promise<void> =>
    work().catch((error) => {
      log({
        level: "error",
        code: "theft_response_error",
        sessionId: theft.sessionId,
        detail: describe(error),
      });
    });

  return async (theft) => {
    try {
      const clerk = clerkApi && theft.clerkSessionId
        ? guarded(theft, () => revokeAtClerk(theft, theft.clerkSessionId!))
        : null;
      const webhook = securityWebhook ? guarded(theft, () => announce(theft)) : null;
      const all = Promise.all([clerk, webhook]);
      deps.waitUntil?.(all);
      if (clerk && waitMs > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
        await Promise.race([clerk, deadline]);
        clearTimeout(timer);
      }
    } catch (error) {
      logError(theft, error);
    }
  };
}

/** Builds the responder from parsed settings with the clients' default timeouts and retries. */
export function createTheftResponderFromSettings(
  settings: TheftResponseSettings,
  deps: Omit<TheftResponderDeps, "clerkApi" | "securityWebhook">,
): TheftResponder {
  return createTheftResponder({
    ...deps,
    clerkApi: settings.clerkApi && createClerkApi(settings.clerkApi),
    securityWebhook: settings.securityWebhook && createSecurityWebhook(settings.securityWebhook),
  });
}
