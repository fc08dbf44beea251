/**
 * DPoP proofs (RFC 9449): the checks of §4.3 on a request's `DPoP` header, the
 * RFC 7638 thumbprint a session is bound to, and stateless server nonces.
 *
 * A proof is a JWT the client signs per request with a key that never leaves
 * its device. Verifying one proves the request comes from the holder of that
 * key; the caller then compares the key's thumbprint with the one the session
 * (or the access token's `cnf.jkt`) is bound to, and hands the `jti` to the
 * database, which refuses a proof id it has seen before (replay).
 *
 * Nonces (`DPoP-Nonce`) are an HMAC of a five-minute time bucket under the
 * refresh secret, so every instance of the function can check any instance's
 * nonce without shared state.
 *
 * Clients learn only `invalid_dpop_proof` or `use_dpop_nonce`; which check
 * failed goes to the log.
 */
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK } from "jose";
import { base64url } from "./base64url.ts";
import { timingSafeEqual } from "./constant-time.ts";
import { describe } from "./describe-error.ts";
import { ApiError } from "./errors.ts";
import { type KeyedMac, keyedMac } from "./hmac.ts";

/** What a verified proof tells the caller. */
export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key, base64url (43 characters). */
  readonly jkt: string;
  /** The proof's id, for the replay check. */
  readonly jti: string;
  readonly iat: number;
}

/** Checks `DPoP` headers and issues nonces. */
export interface DpopVerifier {
  /**
   * Verifies the request's proof; null when the request carries none. With
   * `accessToken` the proof must also carry its hash (`ath`). Throws
   * `invalid_dpop_proof`, or `use_dpop_nonce` (with a fresh `DPoP-Nonce`
   * header) when nonces are on and the proof lacks a current one.
   */
  verify(request: Request, options: { now: Date; accessToken?: string }): Promise<VerifiedProof | null>;
  /** A nonce for the `DPoP-Nonce` response header, or null when nonces are off. */
  nonce(now: Date): Promise<string | null>;
  /** Seconds a `jti` must be remembered: after that its `iat` is outside the window anyway. */
  readonly replayWindow: number;
}

export interface DpopVerifierOptions {
  /** Refresh MAC secrets, newest first: nonces are issued with the first, accepted with any. */
  readonly secrets: readonly string[];
  readonly publicUrls: readonly string[];
  readonly requireNonce: boolean;
  /**
   * Path prefixes the function is served under, the public one
   * (`/functions/v1/session`) first; `htu` is compared on what follows them.
   */
  readonly mounts: readonly string[];
  /** Largest difference between a proof's `iat` and the clock, seconds. Default 60. */
  readonly iatWindow?: number;
}

const DEFAULT_IAT_WINDOW = 60;

/** Seconds a proof's `jti` must be remembered: after that its `iat` is outside the window anyway. */
export function replayWindow(iatWindow = DEFAULT_IAT_WINDOW): number {
  return 2 * iatWindow + 1;
}

/** Signature algorithms accepted for proofs: asymmetric only, never `none` or HMAC. */
export const DPOP_ALGORITHMS = ["ES256", "EdDSA", "Ed25519", "PS256", "RS256"] as const;

const KEY_TYPE: Readonly<Record<(typeof DPOP_ALGORITHMS)[number], string>> = {
  ES256: "EC",
  EdDSA: "OKP",
  Ed25519: "OKP",
  PS256: "RSA",
  RS256: "RSA",
};
/** JWK members that hold private or symmetric key material. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const MAX_PROOF_LENGTH = 8192;
const MAX_HTU_LENGTH = 2048;
const JTI = /^[\x21-\x7e]{1,255}$/;
const NONCE_BUCKET_SECONDS = 300;
const NONCE = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})$/;
const encoder = new TextEncoder();

/** Builds the verifier; `secrets` are the refresh MAC secrets (non-empty). */
export function createDpopVerifier(options: DpopVerifierOptions): DpopVerifier {
  if (options.secrets.length === 0) throw new Error("createDpopVerifier: no secret");
  const iatWindow = options.iatWindow ?? DEFAULT_IAT_WINDOW;
  const nonceKeys = options.secrets.map(keyedMac);
  const publicUrls = options.publicUrls.map((url) => url.replace(/\/+$/, ""));

  const nonceMac = (key: KeyedMac, bucket: number): string =>
    base64url(key(`sessionguard dpop nonce\0${bucket}`).slice(0, 16));
  const issueNonce = (now: Date): string => {
    const bucket = Math.floor(now.getTime() / 1000 / NONCE_BUCKET_SECONDS);
    return `${bucket.toString(36)}.${nonceMac(nonceKeys[0], bucket)}`;
  };
  /** A nonce of this bucket or a neighbour (instances' clocks differ a little), under any secret. */
  const nonceIsCurrent = (nonce: unknown, now: Date): boolean => {
    if (typeof nonce !== "string") return false;
    const match = NONCE.exec(nonce);
    if (!match) return false;
    const bucket = parseInt(match[1], 36);
    const current = Math.floor(now.getTime() / 1000 / NONCE_BUCKET_SECONDS);
    if (!(bucket >= current - 1 && bucket <= current + 1)) return false;
    for (const key of nonceKeys) {
      if (timingSafeEqual(nonceMac(key, bucket), match[2])) return true;
    }
    return false;
  };

  const refuse = (detail: string): never => {
    throw new ApiError("invalid_dpop_proof", { detail: `dpop: ${detail}` });
  };

  return {
    replayWindow: replayWindow(iatWindow),

    nonce: (now) => Promise.resolve(options.requireNonce ? issueNonce(now) : null),

    async verify(request, { now, accessToken }) {
      const header = request.headers.get("dpop");
      if (header === null) return null;
      // Headers joins repeated fields with ", ", which a compact JWS never contains (§4.3 check 1).
      if (
        header.length > MAX_PROOF_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(header)
      ) {
        refuse("not exactly one compact JWS");
      }

      let protectedHeader: Record<string, unknown>;
      try {
        protectedHeader = decodeProtectedHeader(header) as Record<string, unknown>;
      } catch {
        return refuse("undecodable header");
      }
      const { typ, alg, jwk } = protectedHeader;
      if (typ !== "dpop+jwt") refuse(`typ ${JSON.stringify(typ)}`);
      if (typeof alg !== "string" || !(DPOP_ALGORITHMS as readonly string[]).includes(alg)) {
        refuse(`alg ${JSON.stringify(alg)}`);
      }
      const algorithm = alg as (typeof DPOP_ALGORITHMS)[number];
      if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) return refuse("no jwk");
      const publicJwk = jwk as JWK;
      if (PRIVATE_MEMBERS.some((member) => member in publicJwk)) refuse("jwk holds private key material");
      if (publicJwk.kty !== KEY_TYPE[algorithm]) {
        refuse(`jwk kty ${JSON.stringify(publicJwk.kty)} for ${alg}`);
      }
      if (publicJwk.alg !== undefined && publicJwk.alg !== alg) refuse("jwk alg differs from the header's");

      let payload: Record<string, unknown>;
      let jkt: string;
      try {
        const key = await importJWK({ ...publicJwk, ext: true }, algorithm);
        // The header's own jwk is the only key that may verify the proof (§4.3 check 6).
        const verified = await compactVerify(header, key, { algorithms: [algorithm] });
        payload = JSON.parse(new TextDecoder().decode(verified.payload));
        jkt = await calculateJwkThumbprint(publicJwk, "sha256");
      } catch (error) {
        return refuse(`signature or key: ${describe(error)}`);
      }
      if (typeof payload !== "object" || payload === null || Array.isArray(payload)) refuse("payload");

      const { jti, htm, htu, iat, ath, nonce } = payload;
      if (typeof jti !== "string" || !JTI.test(jti)) refuse("jti missing or out of bounds");
      if (htm !== request.method) refuse(`htm ${JSON.stringify(htm)} for ${request.method}`);
      if (typeof htu !== "string" || htu.length > MAX_HTU_LENGTH) return refuse("htu missing");
      const target = normalizeTarget(htu);
      if (target === null || !acceptedTargets(request.url, options.mounts, publicUrls).includes(target)) {
        refuse(`htu ${JSON.stringify(htu)} for ${request.url}`);
      }
      if (typeof iat !== "number" || !Number.isFinite(iat)) refuse("iat missing");
      const seconds = now.getTime() / 1000;
      if (Math.abs((iat as number) - seconds) > iatWindow) {
        refuse(`iat ${iat} is ${(iat as number) - seconds} s off`);
      }
      if (accessToken !== undefined) {
        if (typeof ath !== "string" || !timingSafeEqual(ath, await accessTokenHash(accessToken))) {
          refuse("ath missing or not the access token's");
        }
      }
      if (options.requireNonce && !nonceIsCurrent(nonce, now)) {
        throw new ApiError("use_dpop_nonce", {
          detail: nonce === undefined ? "dpop: no nonce" : "dpop: stale or foreign nonce",
          headers: { "dpop-nonce": issueNonce(now) },
        });
      }
      return { jkt, jti: jti as string, iat: iat as number };
    },
  };
}

/** `ath`: base64url of the SHA-256 of the access token's ASCII (§4.2). */
export async function accessTokenHash(accessToken: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(accessToken))));
}

/** `htu` as compared: scheme, host, port and path, without query and fragment; null if not http(s). */
export function normalizeTarget(htu: string): string | null {
  let url: URL;
  try {
    url = new URL(htu);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username || url.password) return null;
  return `${url.origin}${url.pathname}`;
}

/**
 * The `htu` values a request answers to. A client signs the URL it called, which
 * is not always the URL the function sees: Supabase's gateway strips
 * `/functions/v1` (and terminates TLS), and a custom domain changes the host.
 * So: the URL as seen; on the same host the public `/functions/v1/session/…`
 * form over http or https; and every configured public base URL followed by the
 * route. Forwarded headers are not trusted for this: a client can set them.
 */
export function acceptedTargets(
  requestUrl: string,
  mounts: readonly string[],
  publicUrls: readonly string[],
): string[] {
  const url = new URL(requestUrl);
  const candidates = [requestUrl];
  const mount = mounts.find((m) => url.pathname === m || url.pathname.startsWith(`${m}/`));
  if (mount !== undefined) {
    const route = url.pathname.slice(mount.length);
    for (const scheme of ["https:", "http:"]) candidates.push(`${scheme}//${url.host}${mounts[0]}${route}`);
    for (const base of publicUrls) candidates.push(`${base}${route}`);
  }
  const targets = new Set<string>();
  for (const candidate of candidates) {
    const normalized = normalizeTarget(candidate);
    if (normalized !== null) targets.add(normalized);
  }
  return [...targets];
}
