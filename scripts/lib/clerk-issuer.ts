/**
 * A local stand-in for a Clerk instance's Frontend API, for tests and bench: an RS256 key
 * made at start, its JWKS served on 127.0.0.1, and session tokens from the shared
 * maker (./clerk-token.ts).
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair } from "jose";
import { clerkId, publicJwks, signClerkToken } from "./clerk-token.ts";

export { clerkId };

export interface ClerkIssuer {
  /** `iss` of its tokens, e.g. http://127.0.0.1:43121 */
  readonly issuer: string;
  readonly jwksUrl: string;
  /** The public key as PEM, for CLERK_JWT_KEY. */
  readonly publicKeyPem: string;
  /** The published key id. */
  readonly kid: string;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  /** A session token; `claims` override or (with undefined) remove defaults. */
  token(claims?: Partial<ClerkClaims> & Record<string, unknown>, options?: TokenOptions): Promise<string>;
  stop(): Promise<void>;
}

export interface ClerkClaims {
  sub: string;
  sid: string;
  azp: string;
  sts: string;
  iat: number;
  nbf: number;
  exp: number;
  iss: string;
}

export interface TokenOptions {
  /** Sign with another key (e.g. one that is not published). */
  key?: CryptoKey;
  kid?: string;
  /** Header algorithm (default RS256), to go with `key`. */
  alg?: string;
  /** Seconds added to the current time (negative for the past). */
  shift?: number;
}

/** Starts the issuer; `azp` is the default authorized party of its tokens. */
export async function startClerkIssuer(azp = "http://localhost:3000"): Promise<ClerkIssuer> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = `ins_${randomBytes(6).toString("hex")}`;
  const jwks = publicJwks(await exportJWK(publicKey), kid);
  let fetches = 0;

  const server = http.createServer((req, res) => {
    if (req.url === "/.well-known/jwks.json") {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(jwks));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    publicKeyPem: await exportSPKI(publicKey),
    kid,
    jwksFetches: () => fetches,
    token: (claims = {}, options = {}) =>
      signClerkToken({
        issuer,
        azp,
        key: options.key ?? privateKey,
        kid: options.kid ?? kid,
        alg: options.alg,
        now: new Date(Date.now() + (options.shift ?? 0) * 1000),
        claims,
      }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
