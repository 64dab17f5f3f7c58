import { constants, createHmac, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { KeySource } from "../../src/crypto/external-jwt.js";
import { importJwks, selectKey } from "../../src/crypto/jwks.js";

/**
 * A local external issuer for the federation tests: key pairs of every JWS algorithm made with
 * node:crypto, tokens signed with them, and a loopback JWKS endpoint whose answers a test controls.
 */

export type TestAlg = "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "ES512" | "EdDSA";

export interface TestKey {
  kid: string;
  alg: TestAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: Record<string, unknown>;
}

const CURVE: Record<string, string> = { ES256: "P-256", ES384: "P-384", ES512: "P-521" };

export function makeKey(alg: TestAlg, kid: string, opts: { rsaBits?: number } = {}): TestKey {
  const pair =
    alg === "EdDSA"
      ? generateKeyPairSync("ed25519")
      : alg.startsWith("ES")
        ? generateKeyPairSync("ec", { namedCurve: CURVE[alg]! })
        : generateKeyPairSync("rsa", { modulusLength: opts.rsaBits ?? 2048 });
  return { kid, alg, ...pair, jwk: { ...pair.publicKey.export({ format: "jwk" }), kid, use: "sig" } };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

/** A compact JWS with the key's algorithm (or `header.alg` to lie about it). */
export function signJwt(key: TestKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const h = { alg: key.alg, typ: "JWT", kid: key.kid, ...header };
  const input = `${b64(h)}.${b64(payload)}`;
  const alg = key.alg;
  const hash = alg === "EdDSA" ? null : `sha${alg.slice(2)}`;
  const sig = alg.startsWith("ES")
    ? sign(hash, Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" })
    : alg.startsWith("PS")
      ? sign(hash, Buffer.from(input), { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
      : sign(hash, Buffer.from(input), key.privateKey);
  return `${input}.${sig.toString("base64url")}`;
}

/** A KeySource over fixed keys, selecting as the JWKS fetcher does. */
export function keysOf(...keys: TestKey[]): KeySource {
  const imported = importJwks({ keys: keys.map((k) => k.jwk) });
  if ("error" in imported) throw new Error(imported.error);
  return { getKey: async (_p, kid, alg) => selectKey(imported.keys, kid, alg) };
}

/** An unsigned (`alg: none`) token and an HS256 one: what must never be accepted. */
export const unsignedJwt = (payload: Record<string, unknown>, kid?: string) => `${b64({ alg: "none", typ: "JWT", ...(kid ? { kid } : {}) })}.${b64(payload)}.`;
export function hmacJwt(secret: string, payload: Record<string, unknown>, kid?: string): string {
  const input = `${b64({ alg: "HS256", typ: "JWT", ...(kid ? { kid } : {}) })}.${b64(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

export interface JwksServer {
  url: string;
  port: number;
  /** Requests to /jwks (and every other path) so far. */
  hits: number;
  /** What /jwks answers: the keys, or a custom handler. */
  keys: Record<string, unknown>[];
  handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  cacheControl?: string;
  close(): Promise<void>;
}

/** A loopback HTTP server answering the JWKS of `keys` at any path (unless `handler` is set). */
export async function startJwksServer(keys: TestKey[] = []): Promise<JwksServer> {
  const state: JwksServer = {
    url: "",
    port: 0,
    hits: 0,
    keys: keys.map((k) => k.jwk),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server = http.createServer((req, res) => {
    state.hits++;
    if (state.handler) return state.handler(req, res);
    res.writeHead(200, { "content-type": "application/jwk-set+json", ...(state.cacheControl ? { "cache-control": state.cacheControl } : {}) });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}/jwks`;
  return state;
}
