/**
 * Property-based fuzzing of the single-use rule for machine-key assertions (issue #19): properly
 * signed assertions with random jtis (absent, repeated, empty, huge), lifetimes around the 1 h limit,
 * clock offsets and extra claims. Whatever the token endpoint accepts lives at most
 * oauth.maxAssertionLifetime and is refused when sent again — as the same string, with the signature
 * spelled differently, or as another assertion with the same jti. Client authentication
 * (private_key_jwt) is single-use by jti; without one it stays repeatable (zitadel/oidc's resource
 * server). Nothing answers 5xx.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import fc from "fast-check";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rest, tokenRequest } from "../helpers/clients.js";
import { oauthPost } from "../helpers/fixtures.js";
import { expectHealthy, fuzzParams, runsScaled, startFuzzTarget, statusStats, timeoutFor, type FuzzTarget } from "./support.js";

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const API_SCOPE = "openid urn:zitadel:iam:org:project:id:zitadel:aud";
const MAX_LIFETIME = 3600;
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The same assertion with its signature's base64url spelled differently (a 2048-bit signature leaves 4 unused bits in the last character). */
const respell = (jwt: string) => jwt.slice(0, -1) + B64URL[B64URL.indexOf(jwt.at(-1)!) ^ 1];

/** Assertion claims: jti absent or hostile, lifetimes around the limit, iat around now, noise claims. */
const assertionShape = fc.record({
  jti: fc.option(fc.oneof(fc.uuid(), fc.constantFrom("fixed-jti", "", " ", "\u0000", "é", "a".repeat(256), "a".repeat(257)), fc.string({ maxLength: 12 })), { nil: undefined, freq: 3 }),
  lifetime: fc.oneof(fc.constantFrom(MAX_LIFETIME, MAX_LIFETIME + 1, MAX_LIFETIME - 1, 60, 0, -5, 7200, 365 * 86400), fc.integer({ min: -100, max: 5000 })),
  iatShift: fc.oneof(fc.constant(0), fc.integer({ min: -3700, max: 90 })),
  extra: fc.dictionary(fc.constantFrom("nonce", "x", "scope", "typ"), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
  replay: fc.constantFrom("same", "respelled", "same-jti"),
});

describe("assertion single-use fuzzing", { timeout: timeoutFor(runsScaled(1), 800) }, () => {
  let t: FuzzTarget;
  let key: { keyId: string; userId: string; privateKey: KeyObject };
  let accessToken: string;

  beforeAll(async () => {
    t = await startFuzzTarget();
    const added = await rest(t.s.url, "POST", `/management/v1/users/${t.client.userId}/keys`, { token: t.s.pat, orgId: t.fuzzOrgId, body: { type: "KEY_TYPE_JSON" } });
    expect(added.status).toBe(200);
    const file = JSON.parse(Buffer.from(added.json.keyDetails as string, "base64").toString("utf8")) as { keyId: string; key: string; userId: string };
    key = { keyId: file.keyId, userId: file.userId, privateKey: createPrivateKey(file.key) };
    const tok = await tokenRequest(t.s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: t.client.userName, secret: t.client.secret });
    accessToken = tok.json.access_token as string;
  });
  afterAll(async () => {
    await t?.s.close();
  });

  const sign = (c: { jti?: string; lifetime: number; iatShift: number; extra: Record<string, string> }, salt = 0) => {
    const iat = Math.floor(Date.now() / 1000) + c.iatShift;
    const claims: Record<string, unknown> = { ...c.extra, iss: key.userId, sub: key.userId, aud: t.s.url, iat, exp: iat + c.lifetime };
    if (c.jti !== undefined) claims.jti = c.jti;
    if (salt) claims.salt = salt; // another assertion, same jti
    return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: key.keyId }).sign(key.privateKey);
  };
  const grant = (assertion: string) => tokenRequest(t.s.url, { grant_type: JWT_BEARER, assertion, scope: API_SCOPE });

  it("an accepted jwt-bearer assertion lived at most the limit and is refused when replayed in any spelling", async () => {
    const stats = statusStats("jwt-bearer replay");
    let salt = 0;
    await fc.assert(
      fc.asyncProperty(assertionShape, async (c) => {
        const jwt = await sign(c);
        const first = await grant(jwt);
        expect([200, 400]).toContain(first.status);
        if (first.status !== 200) return stats.add("refused");
        expect(c.lifetime).toBeLessThanOrEqual(MAX_LIFETIME);
        const how = c.replay === "same-jti" && c.jti === undefined ? "same" : c.replay;
        const again = how === "same" ? jwt : how === "respelled" ? respell(jwt) : await sign(c, ++salt);
        const second = await grant(again);
        expect(second.status, how).toBe(400);
        expect(second.json).toEqual({ error: "invalid_grant", error_description: "invalid assertion" });
        stats.add(`accepted, replay (${how}) refused`);
      }),
      fuzzParams(runsScaled(1)),
    );
    stats.print();
    await expectHealthy(t.s);
  });

  it("a client assertion is single-use by its jti, and without one authenticates again", async () => {
    const stats = statusStats("private_key_jwt replay");
    await fc.assert(
      // Another jti than the grant property's cases (the same seed draws the same values): a jti is spent for both uses.
      fc.asyncProperty(assertionShape.map((c) => ({ ...c, jti: c.jti === undefined ? undefined : `client:${c.jti}` })), async (c) => {
        const form = { token: accessToken, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await sign(c) };
        const first = await oauthPost(t.s.url, "/oauth/v2/introspect", form);
        expect([200, 401]).toContain(first.status);
        if (first.status !== 200) return stats.add("refused");
        expect(c.lifetime).toBeLessThanOrEqual(MAX_LIFETIME);
        const second = await oauthPost(t.s.url, "/oauth/v2/introspect", { ...form, client_assertion: c.replay === "respelled" ? respell(form.client_assertion) : form.client_assertion });
        expect(second.status).toBe(c.jti === undefined ? 200 : 401);
        stats.add(c.jti === undefined ? "no jti: repeatable" : "jti: replay refused");
      }),
      fuzzParams(runsScaled(1)),
    );
    stats.print();
    await expectHealthy(t.s);
  });
});
