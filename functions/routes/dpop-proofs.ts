/**
 * The DPoP proofs of a request, as the routes use them: verified, and a proof's
 * `jti` remembered so that it is accepted once. The checks of a proof itself are
 * in functions/dpop.ts.
 *
 * `SESSION_DPOP=off` binds no new session (`/start` ignores a proof), but a
 * session bound before keeps needing its key: turning DPoP off must not turn a
 * bound session into a bearer one, nor make its owner look like a thief.
 */
import type { Config, DpopSettings } from "../config.ts";
import { createDpopVerifier, type DpopVerifier, type VerifiedProof } from "../dpop.ts";
import { ApiError } from "../errors.ts";
import type { Store } from "../store.ts";

/** A request's proofs, for the routes. */
export interface DpopProofs {
  /** `SESSION_DPOP`, `SESSION_PUBLIC_URL`, `SESSION_DPOP_NONCE`, `SESSION_DPOP_MISMATCH`. */
  readonly settings: DpopSettings;
  /**
   * The request's verified proof, or null when it carries none; a bad one throws
   * `invalid_dpop_proof` (with `SESSION_DPOP=off`: is ignored, null).
   */
  verify(request: Request, at: Date, accessToken?: string): Promise<VerifiedProof | null>;
  /** Remembers the proof's `jti` for the replay window; false when that key used it already. */
  use(proof: VerifiedProof, at: Date): Promise<boolean>;
  /** Seconds a `jti` is remembered. */
  readonly replayWindow: number;
  /** A current nonce for the `DPoP-Nonce` header, or null when nonces are off. */
  nonce(at: Date): Promise<string | null>;
}

/** Builds the proof checks; `mounts` are the paths the function is served under. */
export function createDpopProofs(config: Config, store: Store, mounts: readonly string[]): DpopProofs {
  const settings = config.dpop;
  const mode = settings.mode;
  const verifier: DpopVerifier = createDpopVerifier({
    secrets: config.refreshSecrets,
    publicUrls: settings.publicUrls,
    requireNonce: settings.nonce,
    mounts,
  });
  return {
    settings,
    async verify(request, at, accessToken) {
      if (mode !== "off") return await verifier.verify(request, { now: at, accessToken });
      // Off: a proof is still checked, for the sessions bound before, but a bad one is
      // ignored as 0.1.0 ignored every proof (a bound session then simply lacks its key).
      return await verifier.verify(request, { now: at, accessToken }).catch((err) => {
        if (err instanceof ApiError) return null;
        throw err;
      });
    },
    use: (proof, at) => store.useDpopProof(proof.jkt, proof.jti, verifier.replayWindow, at),
    replayWindow: verifier.replayWindow,
    nonce: (at) => verifier.nonce(at),
  };
}
