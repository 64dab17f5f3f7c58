import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT } from "jose";

/**
 * An external OIDC-style issuer made in the test: node:crypto keys, its JWKS served over plain http
 * on loopback (Portcullis runs with federation.allowHttpLoopback), tokens minted with jose.
 */
export interface TestIssuer {
  /** The `iss` (http://127.0.0.1:<port>). */
  url: string;
  jwksUri: string;
  /** How often the JWKS was fetched. */
  fetches: number;
  /** The current signing key's kid. */
  kid: string;
  /** A new key (new kid) signs from now on; the JWKS lists both. */
  rotate(): void;
  mint(claims: Record<string, unknown>, opts?: { expSeconds?: number | null; alg?: "RS256" | "ES256"; jti?: string | null; header?: Record<string, unknown> }): Promise<string>;
  /** The public JWKS document (for an uploaded JWKS). */
  jwks(): { keys: Record<string, unknown>[] };
  close(): Promise<void>;
}

interface Key {
  kid: string;
  alg: "RS256" | "ES256";
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function newKey(alg: "RS256" | "ES256"): Key {
  const pair = alg === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const kid = randomUUID();
  return { kid, alg, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: "jwk" }), kid, alg, use: "sig" } };
}

export async function startIssuer(): Promise<TestIssuer> {
  const keys: Key[] = [newKey("RS256"), newKey("ES256")];
  let current = keys[0]!;
  const state = { fetches: 0 };
  const server = http.createServer((req, res) => {
    if (req.url === "/jwks") {
      state.fetches++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jwksUri: `${url}/jwks`,
    get fetches() {
      return state.fetches;
    },
    get kid() {
      return current.kid;
    },
    rotate() {
      current = newKey("RS256");
      keys.push(current);
    },
    async mint(claims, opts = {}) {
      const key = opts.alg === "ES256" ? keys.find((k) => k.alg === "ES256")! : current;
      const now = Math.floor(Date.now() / 1000);
      const body: Record<string, unknown> = { iss: url, iat: now, ...claims };
      if (opts.expSeconds !== null) body.exp = now + (opts.expSeconds ?? 600);
      if (opts.jti !== null) body.jti = opts.jti ?? randomUUID();
      return new SignJWT(body).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...opts.header }).sign(key.privateKey);
    },
    jwks: () => ({ keys: keys.map((k) => k.jwk) }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** An unsigned token (alg none) or one with a forged header: for refusal tests. */
export function forge(header: Record<string, unknown>, payload: Record<string, unknown>, signature = ""): string {
  const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b(header)}.${b(payload)}.${signature}`;
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
