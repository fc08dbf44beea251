/**
 * A local stand-in for a Clerk instance's Frontend API, for tests and bench: an RS256 key
 * made at start, its JWKS served on 127.0.0.1, and tokens shaped like
 * Clerk's v2 session tokens (`azp`, `sid`, `sts`, `v`, `fva`, `nbf = iat - 10`,
 * 60 s life).
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from "jose";

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

/** A random Clerk-looking id: `user_...`, `sess_...`. */
export function clerkId(prefix: "user" | "sess"): string {
  return `${prefix}_${randomBytes(18).toString("base64url").replace(/[-_]/g, "x")}`;
}

/** Starts the issuer; `azp` is the default authorized party of its tokens. */
export async function startClerkIssuer(azp = "http://localhost:3000"): Promise<ClerkIssuer> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = `ins_${randomBytes(6).toString("hex")}`;
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }] };
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
    async token(claims = {}, options = {}) {
      const iat = Math.floor(Date.now() / 1000) + (options.shift ?? 0);
      const payload: JWTPayload = {
        azp,
        exp: iat + 60,
        fva: [0, -1],
        iat,
        iss: issuer,
        nbf: iat - 10,
        sid: clerkId("sess"),
        sts: "active",
        sub: clerkId("user"),
        v: 2,
        ...claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      return await new SignJWT(payload)
        .setProtectedHeader({ alg: options.alg ?? "RS256", kid: options.kid ?? kid, typ: "JWT" })
        .sign(options.key ?? privateKey);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
