import { randomUUID } from "node:crypto";
import { makeKey, signJwt, startJwksServer, type TestKey } from "./jwt-issuer.js";

/**
 * An external issuer for the federation wire tests, over jwt-issuer.ts's keys, signing and loopback
 * JWKS server: its `iss` is the JWKS server's origin (Portcullis runs with
 * federation.allowHttpLoopback), it mints tokens shaped like Kubernetes, GitHub Actions and SPIFFE
 * ones, and it can rotate its key (a new kid).
 */
export interface TestIssuer {
  /** The `iss` (http://127.0.0.1:<port>). */
  url: string;
  jwksUri: string;
  /** How often the JWKS was fetched. */
  readonly fetches: number;
  /** The current RS256 signing key's kid. */
  readonly kid: string;
  /** A new RS256 key (new kid) signs from now on; the JWKS lists every key. */
  rotate(): void;
  mint(claims: Record<string, unknown>, opts?: { expSeconds?: number | null; alg?: "RS256" | "ES256"; jti?: string | null }): string;
  /** The public JWKS document (for an uploaded JWKS). */
  jwks(): { keys: Record<string, unknown>[] };
  close(): Promise<void>;
}

export async function startIssuer(): Promise<TestIssuer> {
  const keys: TestKey[] = [makeKey("RS256", randomUUID()), makeKey("ES256", randomUUID())];
  let current = keys[0]!;
  const server = await startJwksServer(keys);
  const url = `http://127.0.0.1:${server.port}`;
  return {
    url,
    jwksUri: server.url,
    get fetches() {
      return server.hits;
    },
    get kid() {
      return current.kid;
    },
    rotate() {
      current = makeKey("RS256", randomUUID());
      keys.push(current);
      server.keys = keys.map((k) => k.jwk);
    },
    mint(claims, opts = {}) {
      const key = opts.alg === "ES256" ? keys.find((k) => k.alg === "ES256")! : current;
      const now = Math.floor(Date.now() / 1000);
      const body: Record<string, unknown> = { iss: url, iat: now, ...claims };
      if (opts.expSeconds !== null) body.exp = now + (opts.expSeconds ?? 600);
      if (opts.jti !== null) body.jti = opts.jti ?? randomUUID();
      return signJwt(key, body);
    },
    jwks: () => ({ keys: keys.map((k) => k.jwk) }),
    close: () => server.close(),
  };
}

/** A Kubernetes projected service-account token's claims. */
export const kubernetesClaims = (ns: string, sa: string, aud: string) => ({
  sub: `system:serviceaccount:${ns}:${sa}`,
  aud: [aud],
  "kubernetes.io": { namespace: ns, serviceaccount: { name: sa, uid: randomUUID() }, pod: { name: `${sa}-7d9f`, uid: randomUUID() } },
});

/** A GitHub Actions OIDC token's claims. */
export const githubClaims = (repository: string, ref: string, aud: string) => ({
  sub: `repo:${repository}:ref:${ref}`,
  aud,
  repository,
  repository_owner: repository.split("/")[0],
  ref,
  ref_type: "branch",
  workflow: "deploy",
  event_name: "push",
  actor: "octocat",
});

/** A SPIFFE JWT-SVID's claims. */
export const spiffeClaims = (trustDomain: string, path: string, aud: string) => ({ sub: `spiffe://${trustDomain}${path}`, aud: [aud] });
