import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hmacJwt, keysOf, makeKey, signJwt, unsignedJwt, type TestAlg } from "../../test/helpers/jwt-issuer.js";
import type { TrustPolicy } from "../domain/federation/types.js";
import { FEDERATION_LEEWAY_S, JwksUnavailableError, parseExternalJwt, verifyExternalJwt, type ExternalJwtResult, type KeySource } from "./external-jwt.js";
import { importJwks, selectKey } from "./jwks.js";

const NOW = 1_800_000_000;
const ISS = "https://issuer.example";

const policy = (over: Partial<TrustPolicy> = {}): TrustPolicy => ({
  id: "p1",
  orgId: "o1",
  name: "test",
  issuer: ISS,
  audiences: ["portcullis"],
  algorithms: ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA", "RS512", "PS384"],
  requiredClaims: {},
  ...over,
});


const claims = (over: Record<string, unknown> = {}) => ({ iss: ISS, sub: "workload", aud: "portcullis", iat: NOW - 10, exp: NOW + 600, ...over });

async function check(token: string, keys: KeySource, p = policy(), now = NOW): Promise<ExternalJwtResult> {
  const jwt = parseExternalJwt(token);
  if ("reason" in jwt) return { ok: false, reason: jwt.reason, detail: jwt.detail };
  return verifyExternalJwt(jwt, p, keys, now);
}
const reason = (r: ExternalJwtResult) => (r.ok ? "ok" : r.reason);

describe("external JWT verification", () => {
  const rsa = makeKey("RS256", "rsa-1");
  const ec = makeKey("ES256", "ec-1");

  it("accepts every asymmetric algorithm with a key of its type, and returns the claims", async () => {
    const algs: TestAlg[] = ["RS256", "RS512", "PS256", "PS384", "ES256", "ES384", "ES512", "EdDSA"];
    for (const alg of algs) {
      const k = makeKey(alg, `k-${alg}`);
      const r = await check(signJwt(k, claims({ jti: "j1" })), keysOf(k));
      expect(r, alg).toMatchObject({ ok: true, subject: "workload", exp: NOW + 600, jti: "j1" });
    }
  });

  it("refuses alg none, HMAC, algorithms the policy does not allow, and an RS256 header on an EC key", async () => {
    const keys = keysOf(rsa, ec);
    expect(await check(unsignedJwt(claims(), "rsa-1"), keys)).toMatchObject({ ok: false, reason: "algorithm", detail: expect.stringMatching(/"none" is never accepted/) });
    // An HS256 token "signed" with the RSA public key as the secret (the classic confusion).
    const pem = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(reason(await check(hmacJwt(pem, claims(), "rsa-1"), keys))).toBe("algorithm");
    expect(reason(await check(signJwt(rsa, claims()), keys, policy({ algorithms: ["ES256"] })))).toBe("algorithm");
    // The EC key's kid with an RS256 header (signed by the RSA key): the key type does not fit.
    const r = await check(signJwt(rsa, claims(), { kid: "ec-1" }), keys);
    expect(r).toMatchObject({ ok: false, reason: "algorithm", detail: expect.stringMatching(/ec, which does not fit RS256/) });
    // A JWK that names its alg is used for that alg only.
    const pinned = { ...rsa.jwk, alg: "PS256" };
    const imported = importJwks({ keys: [pinned] });
    expect("error" in imported ? imported.error : selectKey(imported.keys, "rsa-1", "RS256")).toBeUndefined();
  });

  it("refuses a bad signature and an unknown key", async () => {
    const other = makeKey("RS256", "rsa-1");
    expect(reason(await check(signJwt(other, claims()), keysOf(rsa)))).toBe("signature");
    const token = signJwt(rsa, claims());
    const [h, p] = token.split(".");
    expect(reason(await check(`${h}.${p}.${"A".repeat(342)}`, keysOf(rsa)))).toBe("signature");
    expect(await check(signJwt(rsa, claims(), { kid: "nope" }), keysOf(rsa))).toMatchObject({ ok: false, reason: "key_not_found", detail: expect.stringMatching(/nope/) });
  });

  it("requires exp and enforces exp, nbf and iat with a small leeway", async () => {
    const keys = keysOf(rsa);
    expect(reason(await check(signJwt(rsa, claims({ exp: undefined })), keys))).toBe("exp_missing");
    expect(reason(await check(signJwt(rsa, claims({ exp: "soon" })), keys))).toBe("malformed");
    expect(reason(await check(signJwt(rsa, claims({ exp: NOW - FEDERATION_LEEWAY_S })), keys))).toBe("expired");
    expect(reason(await check(signJwt(rsa, claims({ exp: NOW - FEDERATION_LEEWAY_S + 5 })), keys))).toBe("ok");
    expect(reason(await check(signJwt(rsa, claims({ nbf: NOW + FEDERATION_LEEWAY_S + 5 })), keys))).toBe("not_yet_valid");
    expect(reason(await check(signJwt(rsa, claims({ nbf: NOW + FEDERATION_LEEWAY_S - 5 })), keys))).toBe("ok");
    expect(reason(await check(signJwt(rsa, claims({ iat: NOW + FEDERATION_LEEWAY_S + 5 })), keys))).toBe("not_yet_valid");
    expect(reason(await check(signJwt(rsa, claims({ iat: NOW + 5 })), keys))).toBe("ok");
  });

  it("enforces the policy's maximum token age (iat then required)", async () => {
    const keys = keysOf(rsa);
    const p = policy({ maxTokenAgeSeconds: 300 });
    expect(reason(await check(signJwt(rsa, claims({ iat: NOW - 300 })), keys, p))).toBe("ok");
    expect(await check(signJwt(rsa, claims({ iat: NOW - 300 - FEDERATION_LEEWAY_S - 1 })), keys, p)).toMatchObject({ ok: false, reason: "too_old", detail: expect.stringMatching(/allows 300 s/) });
    const noIat = claims({ iat: undefined });
    expect(reason(await check(signJwt(rsa, noIat), keys, p))).toBe("too_old");
    expect(reason(await check(signJwt(rsa, noIat), keys))).toBe("ok"); // iat optional without a maximum age (JWT-SVIDs)
  });

  it("matches the audience exactly, as a string or in an array", async () => {
    const keys = keysOf(rsa);
    expect(reason(await check(signJwt(rsa, claims({ aud: ["other", "portcullis"] })), keys))).toBe("ok");
    expect(reason(await check(signJwt(rsa, claims({ aud: "portcullis/" })), keys))).toBe("audience");
    expect(reason(await check(signJwt(rsa, claims({ aud: "PORTCULLIS" })), keys))).toBe("audience");
    expect(reason(await check(signJwt(rsa, claims({ aud: ["other"] })), keys))).toBe("audience");
    expect(await check(signJwt(rsa, claims({ aud: undefined })), keys)).toMatchObject({ reason: "audience", detail: "the token has no aud" });
  });

  it("requires the policy's claims with exactly the given string", async () => {
    const keys = keysOf(rsa);
    const p = policy({ requiredClaims: { ref_protected: "true", namespace_path: "acme" } });
    expect(reason(await check(signJwt(rsa, claims({ ref_protected: "true", namespace_path: "acme" })), keys, p))).toBe("ok");
    expect(await check(signJwt(rsa, claims({ ref_protected: true, namespace_path: "acme" })), keys, p)).toMatchObject({ reason: "required_claim", detail: expect.stringMatching(/ref_protected/) });
    expect(await check(signJwt(rsa, claims({ ref_protected: "true" })), keys, p)).toMatchObject({ reason: "required_claim", detail: "claim namespace_path is missing" });
  });

  it("refuses malformed tokens: too long, not three parts, no sub, bad jti, crit headers", async () => {
    const keys = keysOf(rsa);
    expect(reason(await check("x".repeat(16_385), keys))).toBe("malformed");
    expect(reason(await check("a.b", keys))).toBe("malformed");
    expect(reason(await check(signJwt(rsa, claims({ padding: "x".repeat(17_000) })), keys))).toBe("malformed");
    expect(reason(await check(signJwt(rsa, claims({ sub: undefined })), keys))).toBe("malformed");
    expect(reason(await check(signJwt(rsa, claims({ jti: 42 })), keys))).toBe("malformed");
    expect(reason(await check(signJwt(rsa, claims(), { crit: ["exp"] }), keys))).toBe("malformed");
  });

  it("reports a key source that cannot get the keys as jwks_unavailable, and looks no key up for a token refused on its claims", async () => {
    let asked = 0;
    const down: KeySource = {
      getKey: async () => {
        asked++;
        throw new JwksUnavailableError("the JWKS at https://issuer.example/jwks could not be fetched: HTTP 503");
      },
    };
    expect(await check(signJwt(rsa, claims()), down)).toMatchObject({ ok: false, reason: "jwks_unavailable", detail: expect.stringMatching(/HTTP 503/) });
    expect(asked).toBe(1);
    expect(reason(await check(signJwt(rsa, claims({ exp: NOW - 3600 })), down))).toBe("expired");
    expect(asked).toBe(1);
  });
});

describe("JWKS import", () => {
  it("takes public signing keys and says why it skips the rest", () => {
    const rsaPriv = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
    const small = makeKey("RS256", "small", { rsaBits: 1024 });
    const r = importJwks({
      keys: [
        makeKey("ES256", "ok").jwk,
        { ...rsaPriv, kid: "priv" },
        small.jwk,
        { kty: "oct", k: "c2VjcmV0", kid: "hmac" },
        { ...makeKey("RS256", "enc").jwk, use: "enc" },
        { ...makeKey("ES256", "svid").jwk, use: "jwt-svid" },
        "nonsense",
      ],
    });
    if ("error" in r) throw new Error(r.error);
    expect(r.keys.map((k) => k.kid)).toEqual(["ok", "svid"]);
    expect(r.skipped).toEqual([
      expect.stringMatching(/^key 1: contains private key material/),
      expect.stringMatching(/^key 2: .*2048 bits/),
      expect.stringMatching(/^key 3: kty "oct"/),
      expect.stringMatching(/^key 4: use "enc"/),
      expect.stringMatching(/^key 6: not a JSON object/),
    ]);
    expect(importJwks({ nokeys: [] })).toEqual({ error: expect.stringMatching(/not a JWKS/) });
    expect(importJwks({ keys: Array(101).fill({}) })).toEqual({ error: "more than 100 keys" });
  });

  it("without a kid, uses the only key that fits the algorithm, never a guess among several", () => {
    const r = importJwks({ keys: [makeKey("RS256", "a").jwk, makeKey("ES256", "b").jwk] });
    if ("error" in r) throw new Error(r.error);
    expect(selectKey(r.keys, undefined, "ES256")).toBe(r.keys[1]!.key);
    const two = importJwks({ keys: [makeKey("ES256", "a").jwk, makeKey("ES256", "b").jwk] });
    if ("error" in two) throw new Error(two.error);
    expect(selectKey(two.keys, undefined, "ES256")).toBeUndefined();
  });
});
