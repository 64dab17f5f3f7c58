import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { unavailable } from "../../domain/errors.js";
import { EXTERNAL_URL, NOW, createHarness, orgEvent, userEvent } from "../core/testing/given.js";
import { decideWithCache } from "../core/lookup.js";
import { claimSpentAssertion, createReplayCache, verifyKeyAssertion, type AssertionResult, type AssertionUse, type SpentJti } from "./jwt-assertion.js";

// Given a machine with a key, when an assertion signed with it is verified (as the jwt-bearer grant
// or as private_key_jwt client authentication), then it is accepted once — or refused, with the
// reason the debug log gets.

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PEM = publicKey.export({ format: "pem", type: "spki" }) as string;
const now = Math.floor(NOW.getTime() / 1000);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

/** A compact RS256 JWS as ZITADEL's SDKs mint it (zitadel/oidc SignedJWTProfileAssertion: iss = sub, aud, iat, exp = iat + 1 h, no jti). */
function mint(claims: Record<string, unknown> = {}): string {
  const input = `${b64({ alg: "RS256", kid: "k1" })}.${b64({ iss: "u1", sub: "u1", aud: [EXTERNAL_URL], iat: now, exp: now + 3600, ...claims })}`;
  return `${input}.${sign("sha256", Buffer.from(input), privateKey).toString("base64url")}`;
}

function given(config: { maxAssertionLifetime?: number; requireAssertionJti?: boolean } = {}) {
  const t = createHarness({ config: { oauth: { maxAssertionLifetime: 3600, requireAssertionJti: false, ...config } } as never });
  t.given(
    orgEvent("org1", "org.added", { name: "Acme" }),
    userEvent("u1", "org1", "user.machine.added", { userName: "bot", name: "Bot" }),
    userEvent("u1", "org1", "user.machine.key.added", { keyId: "k1", type: 1, expirationDate: "9999-12-31T23:59:59.000Z", publicKey: Buffer.from(PEM).toString("base64") }),
  );
  const replay = createReplayCache();
  // The decision (verifyKeyAssertion over the cache) and then the shared claim, as the grant and
  // client authentication run them.
  const verify = async (jwt: string, use: AssertionUse = "grant", cache = replay): Promise<AssertionResult> => {
    const request: SpentJti = {};
    const v = await decideWithCache(t.deps, (d, r: SpentJti, lookup) => verifyKeyAssertion(d, cache, r, jwt, use, lookup), request);
    if (!v.ok) return v;
    if (!(await claimSpentAssertion(t.deps, cache, request))) return { ok: false, reason: "replayed (used through another process, or before a restart)" };
    return v;
  };
  return { t, verify };
}

const ok = { ok: true, keyId: "k1", user: expect.objectContaining({ id: "u1" }) };
const refused = (reason: string) => ({ ok: false, reason });

describe("verifyKeyAssertion: single use", () => {
  it("accepts an SDK-style grant assertion without jti once, and refuses it again (by its signed content)", async () => {
    const { verify } = given();
    const jwt = mint();
    expect(await verify(jwt)).toEqual(ok);
    expect(await verify(jwt)).toEqual(refused("replayed"));
    // The signature's base64url spelled differently (unused trailing bits) is the same assertion.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const respelled = jwt.slice(0, -1) + alphabet[alphabet.indexOf(jwt.at(-1)!) ^ 1]; // 256 bytes: the last character's low 4 bits are unused
    expect(respelled).not.toBe(jwt);
    expect(await verify(respelled)).toEqual(refused("replayed"));
    // A new assertion (the SDK mints one per token, a second later at the latest) is another one.
    expect(await verify(mint({ iat: now - 1, exp: now + 3599 }))).toEqual(ok);
  });

  it("refuses a jti used before, whatever else differs, for the grant and for client authentication", async () => {
    const { verify } = given();
    const jti = randomUUID();
    expect(await verify(mint({ jti }))).toEqual(ok);
    expect(await verify(mint({ jti, iat: now - 5, exp: now + 60 }))).toEqual(refused("replayed"));
    expect(await verify(mint({ jti, iat: now - 5, exp: now + 60 }), "client")).toEqual(refused("replayed"));
    const other = randomUUID();
    expect(await verify(mint({ jti: other }), "client")).toEqual(ok);
    expect(await verify(mint({ jti: other }), "client")).toEqual(refused("replayed"));
  });

  it("lets a client assertion without jti authenticate again (zitadel/oidc's resource server mints one per introspection)", async () => {
    const { verify } = given();
    const jwt = mint();
    expect(await verify(jwt, "client")).toEqual(ok);
    expect(await verify(jwt, "client")).toEqual(ok);
  });

  it("refuses an assertion another process spent: the shared used_assertions check, after this process's own cache", async () => {
    const { t, verify } = given();
    const jwt = mint();
    expect(await verify(jwt)).toEqual(ok);
    // Another process: its own replay cache, the same database.
    expect(await verify(jwt, "grant", createReplayCache())).toEqual(refused("replayed (used through another process, or before a restart)"));
    expect(await verify(mint({ jti: "j1" }), "client", createReplayCache())).toEqual(ok);
    expect(await verify(mint({ jti: "j1" }), "client", createReplayCache())).toEqual(refused("replayed (used through another process, or before a restart)"));
    // A mark ends when the assertion could no longer be accepted anyway: min(exp, iat + 1 h) + 60 s.
    expect(await t.deps.usedAssertions.prune(NOW.getTime() + 3660_000 - 1)).toBe(0);
    expect(await t.deps.usedAssertions.prune(NOW.getTime() + 3660_000)).toBe(2);
  });

  it("does not spend an assertion when the shared check cannot answer: the same assertion works once the database is back", async () => {
    const { t, verify } = given();
    const claim = t.deps.usedAssertions.claim;
    t.deps.usedAssertions.claim = () => Promise.reject(unavailable("STORE-unavail", "database unavailable"));
    const jwt = mint();
    await expect(verify(jwt)).rejects.toMatchObject({ kind: "Unavailable" });
    t.deps.usedAssertions.claim = claim;
    expect(await verify(jwt)).toEqual(ok);
    expect(await verify(jwt)).toEqual(refused("replayed"));
  });
});

describe("verifyKeyAssertion: lifetime and jti settings", () => {
  it("refuses an assertion living longer than oauth.maxAssertionLifetime (exp - iat; default 1 h, as the SDKs mint)", async () => {
    const { verify } = given();
    expect(await verify(mint({ exp: now + 3601 }))).toEqual(refused("lives longer than oauth.maxAssertionLifetime"));
    expect(await verify(mint({ exp: now + 3601 }), "client")).toEqual(refused("lives longer than oauth.maxAssertionLifetime"));
    expect(await verify(mint({ iat: now - 600, exp: now + 10 * 365 * 86400 }))).toEqual(refused("lives longer than oauth.maxAssertionLifetime"));
    expect(await verify(mint({ exp: now + 3600 }))).toEqual(ok);
    const short = given({ maxAssertionLifetime: 300 });
    expect(await short.verify(mint({ exp: now + 301 }))).toEqual(refused("lives longer than oauth.maxAssertionLifetime"));
    expect(await short.verify(mint({ exp: now + 300 }))).toEqual(ok);
  });

  it("with oauth.requireAssertionJti refuses assertions without a jti, for the grant and for clients", async () => {
    const { verify } = given({ requireAssertionJti: true });
    expect(await verify(mint())).toEqual(refused("jti missing (oauth.requireAssertionJti)"));
    expect(await verify(mint(), "client")).toEqual(refused("jti missing (oauth.requireAssertionJti)"));
    expect(await verify(mint({ jti: randomUUID() }))).toEqual(ok);
    expect(await verify(mint({ jti: randomUUID() }), "client")).toEqual(ok);
  });
});
