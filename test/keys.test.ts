import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { KeyType } from "@zitadel/proto/zitadel/auth_n_key_pb.js";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { SignJWT, decodeJwt } from "jose";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { managementClient, rest, tokenRequest } from "./helpers/clients.js";
import { ISO, NO_EXPIRY, addMachine, adminUserId, myOrgId, oauthPost, seedHumanAndForeignMachine, zitadelError } from "./helpers/fixtures.js";

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const API_SCOPE = "openid profile urn:zitadel:iam:org:project:id:zitadel:aud";
const INVALID_GRANT = { error: "invalid_grant", error_description: "invalid assertion" };

interface KeyFile {
  type: string;
  keyId: string;
  key: string;
  expirationDate: string;
  userId: string;
}

/** The server runs on this clock; tests move it to expire keys and tokens. */
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);
const nowSec = () => Math.floor(clock().getTime() / 1000);

let s: TestServer;
let orgId: string;

beforeAll(async () => {
  s = await startTestServer({ storage: "pglite", clock });
  orgId = await myOrgId(s);
});
afterAll(async () => {
  await s?.close();
});
afterEach(() => {
  offsetMs = 0;
});

async function addKey(userId: string, body: Record<string, unknown> = {}) {
  return rest(s.url, "POST", `/management/v1/users/${userId}/keys`, { token: s.pat, body: { type: "KEY_TYPE_JSON", ...body } });
}

async function newKeyFile(userId: string, body: Record<string, unknown> = {}): Promise<KeyFile> {
  const r = await addKey(userId, body);
  expect(r.status).toBe(200);
  return JSON.parse(Buffer.from(r.json.keyDetails, "base64").toString("utf8")) as KeyFile;
}

type Claims = { iss?: unknown; sub?: unknown; aud?: unknown; iat?: unknown; exp?: unknown; nbf?: unknown; jti?: unknown };

/**
 * An RFC 7523 assertion as a ZITADEL SDK builds it from the key file (PKCS#1 PEM → KeyObject → jose),
 * with a fresh jti: a jwt-bearer assertion is single-use, and two minted in the same second with the
 * same claims are the same bytes. `{ jti: undefined }` leaves it out, as ZITADEL's SDKs do.
 */
async function assertion(kf: { keyId: string; userId: string }, privateKey: KeyObject | string, claims: Claims = {}, kid = kf.keyId): Promise<string> {
  const key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  const now = nowSec();
  const payload = { iss: kf.userId, sub: kf.userId, aud: s.url, iat: now, exp: now + 300, jti: randomUUID() as unknown, ...claims };
  for (const k of Object.keys(payload) as (keyof typeof payload)[]) if (payload[k] === undefined) delete payload[k];
  return new SignJWT(payload as Record<string, unknown>).setProtectedHeader({ alg: "RS256", kid }).sign(key);
}

/** scope null: no scope parameter at all. */
const grant = (jwt: string, scope: string | null = API_SCOPE) =>
  tokenRequest(s.url, { grant_type: JWT_BEARER, assertion: jwt, ...(scope === null ? {} : { scope }) });

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

describe("AddMachineKey with a generated key pair", () => {
  it("returns the key file once, stores only the public key, and the key gets a token for the API and userinfo", async () => {
    const userId = await addMachine(s, "key-svc", "Key Service");
    const added = await addKey(userId);
    expect(added.status).toBe(200);
    expect(Object.keys(added.json).sort()).toEqual(["details", "keyDetails", "keyId"]);
    expect(added.json.keyId).toMatch(/^\d{18,19}$/);
    expect(added.json.details).toEqual({ sequence: "2", creationDate: expect.stringMatching(ISO), resourceOwner: orgId });

    const raw = Buffer.from(added.json.keyDetails, "base64").toString("utf8");
    const kf = JSON.parse(raw) as KeyFile;
    expect(Object.keys(kf)).toEqual(["type", "keyId", "key", "expirationDate", "userId"]);
    expect(kf).toEqual({ type: "serviceaccount", keyId: added.json.keyId, key: expect.stringMatching(/^-----BEGIN RSA PRIVATE KEY-----\n/), expirationDate: NO_EXPIRY, userId });
    expect(createPrivateKey(kf.key).asymmetricKeyDetails?.modulusLength).toBe(2048);

    // Only the public half is in the event store.
    const rows = await s.rt.sql.query<{ payload: unknown }>("SELECT payload FROM events WHERE event_type = 'user.machine.key.added' AND aggregate_id = $1", [userId]);
    const stored = JSON.stringify(rows.map((r) => r.payload));
    expect(stored).not.toContain("PRIVATE");
    const payload = (typeof rows[0]!.payload === "string" ? JSON.parse(rows[0]!.payload) : rows[0]!.payload) as Record<string, unknown>;
    expect(payload).toEqual({ keyId: kf.keyId, type: 1, expirationDate: "9999-12-31T23:59:59.000Z", publicKey: expect.any(String) });
    const publicPem = Buffer.from(String(payload.publicKey), "base64").toString("utf8");
    expect(publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(createPublicKey(publicPem).export({ format: "jwk" })).toEqual(createPublicKey(createPrivateKey(kf.key)).export({ format: "jwk" }));

    const tok = await grant(await assertion(kf, kf.key));
    expect(tok.status).toBe(200);
    expect(tok.headers.get("cache-control")).toBe("no-store");
    expect(Object.keys(tok.json).sort()).toEqual(["access_token", "expires_in", "id_token", "token_type"]);
    expect(tok.json).toMatchObject({ token_type: "Bearer", expires_in: 43200 });
    const idToken = decodeJwt(tok.json.id_token as string);
    expect(idToken).toMatchObject({ iss: s.url, sub: userId, azp: "key-svc", client_id: "key-svc", name: "Key Service" });
    expect(idToken.amr).toBeUndefined(); // jwt-bearer has no amr (ZITADEL's private_key auth method)

    const access = tok.json.access_token as string;
    const iam = await rest(s.url, "GET", "/management/v1/iam", { token: access });
    expect(iam.status).toBe(200);
    expect(iam.json.defaultOrgId).toBe(orgId);
    // Authenticated, but the machine is nobody's member: ZITADEL's 404, not 401.
    const other = await rest(s.url, "GET", `/management/v1/users/${userId}`, { token: access });
    expect(other.status).toBe(404);
    expect(other.json).toEqual(zitadelError(5, "AUTHZ-cdgFk", "membership not found"));

    const info = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${access}` } });
    expect(info.status).toBe(200);
    expect(await info.json()).toEqual({ sub: userId, name: "Key Service", preferred_username: "key-svc", updated_at: expect.any(Number) });
  });

  it("lists and gets keys with ZITADEL's fields, expired keys included", async () => {
    const userId = await addMachine(s, "key-list-svc");
    const first = await addKey(userId);
    const exp = new Date(clock().getTime() + 3600_000);
    const second = await addKey(userId, { expirationDate: exp.toISOString() });
    expect(JSON.parse(Buffer.from(second.json.keyDetails, "base64").toString()).expirationDate).toBe(exp.toISOString());

    const got = await rest(s.url, "GET", `/management/v1/users/${userId}/keys/${first.json.keyId}`, { token: s.pat });
    expect(got.status).toBe(200);
    expect(got.json).toEqual({
      key: {
        id: first.json.keyId,
        details: { sequence: "2", creationDate: first.json.details.creationDate, changeDate: first.json.details.creationDate, resourceOwner: orgId },
        type: "KEY_TYPE_JSON",
        expirationDate: NO_EXPIRY,
      },
    });

    offsetMs = 2 * 3600_000; // the second key has expired: still listed
    const list = await rest(s.url, "POST", `/management/v1/users/${userId}/keys/_search`, { token: s.pat, body: {} });
    expect(list.status).toBe(200);
    expect(list.json.details).toEqual({ totalResult: "2", processedSequence: expect.stringMatching(/^\d+$/), viewTimestamp: expect.stringMatching(ISO) });
    expect(list.json.result.map((k: { id: string }) => k.id)).toEqual([first.json.keyId, second.json.keyId]);
    expect(list.json.result[1]).toMatchObject({ type: "KEY_TYPE_JSON", expirationDate: exp.toISOString() });

    const page = await rest(s.url, "POST", `/management/v1/users/${userId}/keys/_search`, { token: s.pat, body: { query: { offset: "1", limit: 1 } } });
    expect(page.json.details.totalResult).toBe("2");
    expect(page.json.result.map((k: { id: string }) => k.id)).toEqual([second.json.keyId]);
    const beyond = await rest(s.url, "POST", `/management/v1/users/${userId}/keys/_search`, { token: s.pat, body: { query: { offset: "5" } } });
    expect(beyond.json.details.totalResult).toBe("2");
    expect(beyond.json.result).toBeUndefined();
  });

  it("gives the admin's key a token that works on the whole management API over gRPC", async () => {
    const admin = await adminUserId(s);
    const kf = await newKeyFile(admin);
    const tok = await grant(await assertion(kf, kf.key), "urn:zitadel:iam:org:project:id:zitadel:aud");
    expect(tok.status).toBe(200);
    expect(tok.json.id_token).toBeUndefined(); // no openid scope
    const client = managementClient(s.url, "grpc", tok.json.access_token as string);
    const keys = await client.listMachineKeys({ userId: admin });
    expect(keys.result.map((k) => k.id)).toContain(kf.keyId);
    const key = await client.getMachineKeyByIDs({ userId: admin, keyId: kf.keyId });
    expect(key.key?.type).toBe(KeyType.JSON);
    expect(key.key?.expirationDate?.seconds).toBe(BigInt(Date.parse(NO_EXPIRY) / 1000));

    // Removing the key ends the tokens it obtained, on the very next call.
    await client.removeMachineKey({ userId: admin, keyId: kf.keyId });
    const err = await client.listMachineKeys({ userId: admin }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.Unauthenticated);
    expect(err?.rawMessage).toBe("Errors.Token.Invalid (AUTH-7fs1e)");
  });

  it("adds keys over gRPC with bytes in and out", async () => {
    const client = managementClient(s.url, "grpc", s.pat);
    const { userId } = await client.addMachineUser({ userName: "key-grpc-svc", name: "G" });
    const r = await client.addMachineKey({ userId, type: KeyType.JSON });
    expect(r.details?.sequence).toBe(2n);
    expect(r.details?.creationDate).toBeDefined();
    expect(r.details?.changeDate).toBeUndefined();
    const kf = JSON.parse(Buffer.from(r.keyDetails).toString("utf8")) as KeyFile;
    expect(kf.keyId).toBe(r.keyId);
    expect((await grant(await assertion(kf, kf.key))).status).toBe(200);
  });
});

describe("AddMachineKey with a client-provided public key", () => {
  it("accepts a PEM PKIX RSA key, returns no key file, and accepts assertions signed by the caller's private key", async () => {
    const userId = await addMachine(s, "byok-svc");
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = publicKey.export({ format: "pem", type: "spki" }) as string;
    const added = await addKey(userId, { publicKey: Buffer.from(pem).toString("base64") });
    expect(added.status).toBe(200);
    expect(Object.keys(added.json).sort()).toEqual(["details", "keyId"]); // keyDetails empty → omitted
    const tok = await grant(await assertion({ keyId: added.json.keyId, userId }, privateKey));
    expect(tok.status).toBe(200);

    // Go's pem.Decode ignores the label: ZITADEL's own "RSA PUBLIC KEY" label around PKIX DER works too.
    const zitadelStyle = pem.replace(/PUBLIC KEY/g, "RSA PUBLIC KEY");
    const again = await addKey(userId, { publicKey: Buffer.from(zitadelStyle).toString("base64") });
    expect(again.status).toBe(200);
    expect((await grant(await assertion({ keyId: again.json.keyId, userId }, privateKey))).status).toBe(200);
  });

  it("refuses anything that is not a PEM PKIX RSA public key of at least 2048 bits", async () => {
    const userId = await addMachine(s, "byok-bad-svc");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const bad = [
      "not a key",
      rsa.privateKey.export({ format: "pem", type: "pkcs8" }) as string, // a private key is no public key
      rsa.publicKey.export({ format: "pem", type: "pkcs1" }) as string, // PKCS#1, not PKIX
      generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "pem", type: "spki" }) as string,
      generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "pem", type: "spki" }) as string,
    ];
    for (const pem of bad) {
      const r = await addKey(userId, { publicKey: Buffer.from(pem).toString("base64") });
      expect(r.status, pem.slice(0, 40)).toBe(400);
      expect(r.json).toEqual(zitadelError(3, "COMMAND-5F3h1", "Public key is not a valid RSA public key in PKIX format with PEM encoding"));
    }
    const list = await rest(s.url, "POST", `/management/v1/users/${userId}/keys/_search`, { token: s.pat, body: {} });
    expect(list.json.result).toBeUndefined();
  });
});

describe("AddMachineKey / GetMachineKeyByIDs / RemoveMachineKey errors", () => {
  it("answers ZITADEL's errors for bad input, unknown, human and other-org users", async () => {
    const userId = await addMachine(s, "key-err-svc");
    const { humanId, foreignUserId } = await seedHumanAndForeignMachine(s, orgId);

    const past = await addKey(userId, { expirationDate: new Date(clock().getTime() - 60_000).toISOString() });
    expect(past.status).toBe(400);
    expect(past.json).toEqual(zitadelError(3, "DOMAIN-dv3t5", "Errors.AuthNKey.ExpireBeforeNow"));

    const noType = await rest(s.url, "POST", `/management/v1/users/${userId}/keys`, { token: s.pat, body: {} });
    expect(noType.status).toBe(400);
    expect(noType.json).toEqual({ code: 3, message: "invalid AddMachineKeyRequest.Type: value must not be in list [0]" });

    for (const id of ["no-such-user", humanId, foreignUserId]) {
      const r = await addKey(id);
      expect(r.status).toBe(400);
      expect(r.json).toEqual(zitadelError(9, "COMMAND-bnipwm1", "User could not be found"));
    }

    const kf = await newKeyFile(userId);
    const missing = await rest(s.url, "GET", `/management/v1/users/${userId}/keys/123`, { token: s.pat });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual(zitadelError(5, "QUERY-Dgr3g", "Errors.AuthNKey.NotFound"));
    const wrongUser = await rest(s.url, "GET", `/management/v1/users/${foreignUserId}/keys/${kf.keyId}`, { token: s.pat });
    expect(wrongUser.status).toBe(404);

    const foreignList = await rest(s.url, "POST", `/management/v1/users/${foreignUserId}/keys/_search`, { token: s.pat, body: {} });
    expect(foreignList.status).toBe(200);
    expect(foreignList.json.result).toBeUndefined();

    const del = await rest(s.url, "DELETE", `/management/v1/users/${userId}/keys/${kf.keyId}`, { token: s.pat });
    expect(del.status).toBe(200);
    expect(del.json).toEqual({ details: { sequence: "3", changeDate: expect.stringMatching(ISO), resourceOwner: orgId } });
    const again = await rest(s.url, "DELETE", `/management/v1/users/${userId}/keys/${kf.keyId}`, { token: s.pat });
    expect(again.status).toBe(404);
    expect(again.json).toEqual(zitadelError(5, "COMMAND-4m77G", "Machine key not found"));
    const gone = await rest(s.url, "GET", `/management/v1/users/${userId}/keys/${kf.keyId}`, { token: s.pat });
    expect(gone.status).toBe(404);

    const grpcErr = await managementClient(s.url, "grpc", s.pat)
      .removeMachineKey({ userId: foreignUserId, keyId: kf.keyId })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(grpcErr?.code).toBe(Code.NotFound);
    expect(grpcErr?.findDetails(ErrorDetailSchema)).toEqual([expect.objectContaining({ id: "COMMAND-4m77G", message: "Machine key not found" })]);
  });
});

describe("grant_type=jwt-bearer rejections", () => {
  let userId: string;
  let kf: KeyFile;
  let otherId: string;
  let otherKf: KeyFile;
  beforeAll(async () => {
    userId = await addMachine(s, "assert-svc");
    kf = await newKeyFile(userId);
    otherId = await addMachine(s, "assert-other-svc");
    otherKf = await newKeyFile(otherId);
  });

  const expectInvalidGrant = async (jwt: string, why: string) => {
    const r = await grant(jwt);
    expect(r.status, why).toBe(400);
    expect(r.json, why).toEqual(INVALID_GRANT);
    expect(r.headers.get("content-type"), why).toBe("application/json");
    expect(r.headers.get("cache-control"), why).toBe("no-store");
  };

  it("refuses malformed assertions and forbidden algorithms with invalid_grant, never a 500", async () => {
    const now = nowSec();
    const claims = { iss: userId, sub: userId, aud: s.url, iat: now, exp: now + 300 };
    await expectInvalidGrant("garbage", "not a JWT");
    await expectInvalidGrant("a.b.c", "undecodable segments");
    await expectInvalidGrant(`${b64url({ alg: "RS256", kid: kf.keyId })}.${b64url(claims)}`, "two segments");
    await expectInvalidGrant(`${b64url({ alg: "none", kid: kf.keyId })}.${b64url(claims)}.`, "alg none");
    await expectInvalidGrant(`${b64url({ alg: "RS256", kid: kf.keyId })}.${b64url([1, 2])}.AAAA`, "payload not an object");
    // HS256 with the public key as the HMAC secret (key confusion): the algorithm comes from the key, not the token.
    const publicPem = createPublicKey(createPrivateKey(kf.key)).export({ format: "pem", type: "spki" }) as string;
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: kf.keyId }).sign(new TextEncoder().encode(publicPem));
    await expectInvalidGrant(hs, "HS256 with the public key");
    const ps = await new SignJWT(claims).setProtectedHeader({ alg: "PS256", kid: kf.keyId }).sign(createPrivateKey(kf.key));
    await expectInvalidGrant(ps, "PS256 (machine keys are RS256)");
  });

  it("refuses wrong keys, signatures, subjects and audiences", async () => {
    const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    await expectInvalidGrant(await assertion(kf, stranger), "signed by another key under a valid kid");
    await expectInvalidGrant(await assertion(kf, kf.key, {}, "424242"), "unknown kid");
    await expectInvalidGrant(await assertion(kf, kf.key, {}, otherKf.keyId), "another user's kid");
    await expectInvalidGrant(await assertion(kf, kf.key, { iss: otherId, sub: otherId }), "assertion for another user, signed with this user's key");
    await expectInvalidGrant(await assertion(kf, kf.key, { sub: otherId }), "iss != sub (delegation)");
    await expectInvalidGrant(await assertion(kf, kf.key, { aud: "https://elsewhere.example" }), "wrong aud");
    await expectInvalidGrant(await assertion(kf, kf.key, { aud: `${s.url}/` }), "aud must be the issuer exactly");
    await expectInvalidGrant(await assertion(kf, kf.key, { aud: undefined }), "no aud");
    const tampered = (await assertion(kf, kf.key)).split(".");
    tampered[1] = b64url({ iss: otherId, sub: otherId, aud: s.url, iat: nowSec(), exp: nowSec() + 300 });
    await expectInvalidGrant(tampered.join("."), "payload swapped after signing");
    // And the real thing still works.
    expect((await grant(await assertion(kf, kf.key, { aud: [s.url, "other"] }))).status).toBe(200);
  });

  it("checks exp, iat and nbf with 60 s of clock skew and refuses assertions older than an hour", async () => {
    const now = nowSec();
    await expectInvalidGrant(await assertion(kf, kf.key, { iat: now - 600, exp: now - 61 }), "expired");
    await expectInvalidGrant(await assertion(kf, kf.key, { exp: undefined }), "no exp");
    await expectInvalidGrant(await assertion(kf, kf.key, { iat: undefined }), "no iat");
    await expectInvalidGrant(await assertion(kf, kf.key, { iat: now + 120, exp: now + 600 }), "iat in the future");
    await expectInvalidGrant(await assertion(kf, kf.key, { iat: now - 3600 - 120, exp: now + 600 }), "iat older than an hour");
    await expectInvalidGrant(await assertion(kf, kf.key, { nbf: now + 300 }), "not yet valid");
    await expectInvalidGrant(await assertion(kf, kf.key, { exp: String(now + 300) }), "exp not a NumericDate");
    // Within the allowance: a machine clock 30 s off either way is fine.
    expect((await grant(await assertion(kf, kf.key, { iat: now + 30, exp: now + 330 }))).status).toBe(200);
    expect((await grant(await assertion(kf, kf.key, { iat: now - 600, exp: now - 30 }))).status).toBe(200);
    // ZITADEL sets no upper bound on exp; Portcullis refuses assertions living longer than
    // oauth.maxAssertionLifetime (exp - iat, default 1 h: what ZITADEL's SDKs mint).
    await expectInvalidGrant(await assertion(kf, kf.key, { iat: now - 3000, exp: now + 10 * 365 * 86400 }), "lives ten years");
    await expectInvalidGrant(await assertion(kf, kf.key, { iat: now, exp: now + 3601 }), "lives an hour and a second");
    expect((await grant(await assertion(kf, kf.key, { iat: now, exp: now + 3600 }))).status).toBe(200);
  });

  it("refuses a replayed jti within the assertion's lifetime, and a replayed assertion without jti", async () => {
    const withJti = await assertion(kf, kf.key, { jti: randomUUID() });
    expect((await grant(withJti)).status).toBe(200);
    await expectInvalidGrant(withJti, "replayed jti");
    // The same jti from another user is another assertion.
    expect((await grant(await assertion(otherKf, otherKf.key, { jti: "shared-jti" }))).status).toBe(200);
    expect((await grant(await assertion(kf, kf.key, { jti: "shared-jti" }))).status).toBe(200);

    // Without jti (ZITADEL's SDKs): single-use by the signed content.
    const noJti = await assertion(kf, kf.key, { jti: undefined });
    expect((await grant(noJti)).status).toBe(200);
    await expectInvalidGrant(noJti, "replayed assertion without jti");
  });

  it("requires the assertion and a scope (invalid_request), without spending the jti on a missing scope", async () => {
    const missing = await tokenRequest(s.url, { grant_type: JWT_BEARER, scope: API_SCOPE });
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({ error: "invalid_request", error_description: "assertion missing" });
    const empty = await tokenRequest(s.url, { grant_type: JWT_BEARER, assertion: "", scope: API_SCOPE });
    expect(empty.json).toEqual({ error: "invalid_request", error_description: "assertion missing" });

    const jwt = await assertion(kf, kf.key, { jti: randomUUID() });
    const noScope = await grant(jwt, null);
    expect(noScope.status).toBe(400);
    expect(noScope.json).toEqual({
      error: "invalid_request",
      error_description:
        "The scope of your request is missing. Please ensure some scopes are requested. If you have questions, please contact the administrator of the application.",
    });
    expect((await grant(jwt)).status).toBe(200);
  });

  it("refuses a removed key at once, and the tokens it obtained stop working", async () => {
    const id = await addMachine(s, "assert-removed-svc");
    const k = await newKeyFile(id);
    const tok = await grant(await assertion(k, k.key));
    expect(tok.status).toBe(200);
    const access = tok.json.access_token as string;
    expect((await rest(s.url, "GET", "/management/v1/iam", { token: access })).status).toBe(200);

    const del = await rest(s.url, "DELETE", `/management/v1/users/${id}/keys/${k.keyId}`, { token: s.pat });
    expect(del.status).toBe(200);
    await expectInvalidGrant(await assertion(k, k.key), "removed key");
    const api = await rest(s.url, "GET", "/management/v1/iam", { token: access });
    expect(api.status).toBe(401);
    expect(api.json).toEqual(zitadelError(16, "AUTH-7fs1e", "Errors.Token.Invalid"));
    const info = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${access}` } });
    expect(info.status).toBe(401);
  });

  it("refuses an expired key, and its tokens end with it", async () => {
    const id = await addMachine(s, "assert-expiring-svc");
    const k = await newKeyFile(id, { expirationDate: new Date(clock().getTime() + 3600_000).toISOString() });
    const tok = await grant(await assertion(k, k.key));
    expect(tok.status).toBe(200);
    offsetMs = 3600_000 + 1000;
    await expectInvalidGrant(await assertion(k, k.key), "expired key");
    expect((await rest(s.url, "GET", "/management/v1/iam", { token: tok.json.access_token })).status).toBe(401);
  });

  it("answers a deactivated or locked machine as client_credentials does", async () => {
    const id = await addMachine(s, "assert-state-svc");
    const k = await newKeyFile(id);
    const notActive = { error: "invalid_request", error_description: "Errors.User.NotActive" };
    for (const [off, on] of [
      ["_deactivate", "_reactivate"],
      ["_lock", "_unlock"],
    ] as const) {
      expect((await rest(s.url, "POST", `/management/v1/users/${id}/${off}`, { token: s.pat, body: {} })).status).toBe(200);
      const r = await grant(await assertion(k, k.key));
      expect(r.status).toBe(400);
      expect(r.json).toEqual(notActive);
      expect((await rest(s.url, "POST", `/management/v1/users/${id}/${on}`, { token: s.pat, body: {} })).status).toBe(200);
      expect((await grant(await assertion(k, k.key))).status).toBe(200);
    }
    expect((await rest(s.url, "DELETE", `/management/v1/users/${id}`, { token: s.pat })).status).toBe(200);
    await expectInvalidGrant(await assertion(k, k.key), "removed user");
  });

  it("answers a machine of a deactivated org as client_credentials does", async () => {
    const { foreignOrgId, foreignUserId } = await seedHumanAndForeignMachine(s, orgId);
    // The instance owner acts in the other org through x-zitadel-orgid.
    const added = await rest(s.url, "POST", `/management/v1/users/${foreignUserId}/keys`, { token: s.pat, orgId: foreignOrgId, body: { type: "KEY_TYPE_JSON" } });
    expect(added.status).toBe(200);
    expect(added.json.details.resourceOwner).toBe(foreignOrgId);
    const k = JSON.parse(Buffer.from(added.json.keyDetails, "base64").toString()) as KeyFile;
    expect((await grant(await assertion(k, k.key))).status).toBe(200);
    const d = s.rt.deps;
    const orgEvent = (type: string) =>
      d.store.push({ instanceId: d.instanceId, editor: "test", expected: new Map(), now: d.clock(), events: [{ aggregateType: "org", aggregateId: foreignOrgId, resourceOwner: foreignOrgId, type }] });
    await orgEvent("org.deactivated");
    const r = await grant(await assertion(k, k.key));
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: "invalid_request", error_description: "Errors.User.NotActive" });
    await orgEvent("org.reactivated");
    expect((await grant(await assertion(k, k.key))).status).toBe(200);
  });
});

describe("private_key_jwt client authentication", () => {
  it("authenticates a machine at introspection and revocation with the same key", async () => {
    const id = await addMachine(s, "pkjwt-svc");
    const k = await newKeyFile(id);
    const tok = await grant(await assertion(k, k.key, { jti: randomUUID() }), "profile urn:zitadel:iam:org:project:id:zitadel:aud");
    expect(tok.status).toBe(200);
    const access = tok.json.access_token as string;
    const client = async (claims: Claims = {}) => ({
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await assertion(k, k.key, { jti: randomUUID(), ...claims }),
    });

    const intro = await oauthPost(s.url, "/oauth/v2/introspect", { token: access, ...(await client()) });
    expect(intro.status).toBe(200);
    expect(intro.json).toMatchObject({ active: true, sub: id, client_id: "pkjwt-svc", username: "pkjwt-svc", token_type: "Bearer", iss: s.url });

    const invalidClient = { error: "invalid_client", error_description: "client authentication failed" };
    const bad: Record<string, string>[] = [
      { token: access, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: "garbage" },
      { token: access, client_assertion_type: "urn:example:other", client_assertion: (await client()).client_assertion },
      { token: access, client_assertion_type: CLIENT_ASSERTION_TYPE },
      { token: access, ...(await client({ aud: "https://elsewhere.example" })) },
      { token: access, ...(await client()), client_id: "someone-else" },
    ];
    for (const form of bad) {
      const r = await oauthPost(s.url, "/oauth/v2/introspect", form);
      expect(r.status).toBe(401);
      expect(r.json).toEqual(invalidClient);
    }
    const replayed = await client();
    expect((await oauthPost(s.url, "/oauth/v2/introspect", { token: access, ...replayed })).status).toBe(200);
    expect((await oauthPost(s.url, "/oauth/v2/introspect", { token: access, ...replayed })).status).toBe(401);
    // client_id may accompany the assertion when it names the same machine.
    expect((await oauthPost(s.url, "/oauth/v2/introspect", { token: access, ...(await client()), client_id: "pkjwt-svc" })).status).toBe(200);
    expect((await oauthPost(s.url, "/oauth/v2/introspect", { token: access, ...(await client()), client_id: id })).status).toBe(200);
    // One authentication method per request (RFC 6749 §2.3).
    const both = await oauthPost(s.url, "/oauth/v2/introspect", { token: access, ...(await client()), client_secret: "x" });
    expect(both.status).toBe(400);
    expect(both.json.error).toBe("invalid_request");
    // The same at the token endpoint, a client_secret without a client_id included.
    const cc = { grant_type: "client_credentials", scope: "openid" };
    expect((await oauthPost(s.url, "/oauth/v2/token", { ...cc, ...(await client()) })).status).toBe(200);
    for (const extra of [{ client_secret: "x" }, { client_secret: "x", client_id: "pkjwt-svc" }] as Record<string, string>[]) {
      const mixed = await oauthPost(s.url, "/oauth/v2/token", { ...cc, ...(await client()), ...extra });
      expect([mixed.status, mixed.json]).toEqual([400, { error: "invalid_request", error_description: "only one client authentication method may be used" }]);
    }

    const revoke = await oauthPost(s.url, "/oauth/v2/revoke", { token: access, ...(await client()) });
    expect(revoke.status).toBe(200);
    const after = await oauthPost(s.url, "/oauth/v2/introspect", { token: access, ...(await client()) });
    expect(after.json).toEqual({ active: false });

    // A removed key authenticates nothing, here either.
    expect((await rest(s.url, "DELETE", `/management/v1/users/${id}/keys/${k.keyId}`, { token: s.pat })).status).toBe(200);
    const removed = await oauthPost(s.url, "/oauth/v2/introspect", { token: access, ...(await client()) });
    expect(removed.status).toBe(401);
    expect(removed.json).toEqual(invalidClient);
  });
});

describe("assertion replay cache", () => {
  it("refuses a live id, forgets it after its expiry, and stays within its bound", async () => {
    const { createReplayCache } = await import("../src/app/oauth/jwt-assertion.js");
    let overflows = 0;
    const cache = createReplayCache({ maxEntries: 3, onOverflow: () => overflows++ });
    expect(cache.use("a", 2000, 1000)).toBe(true);
    expect(cache.use("a", 2000, 1500)).toBe(false);
    expect(cache.use("a", 3000, 2000)).toBe(true); // expired at 2000: usable again
    expect(cache.use("b", 2500, 2000)).toBe(true);
    expect(cache.use("c", 2500, 2000)).toBe(true);
    // Full of live entries: the oldest is dropped rather than refusing service.
    expect(cache.use("d", 5000, 2100)).toBe(true);
    expect(cache.size).toBe(3);
    expect(overflows).toBe(1);
    // Once b and c expired, a full scan makes room without dropping live entries.
    expect(cache.use("e", 9000, 4000)).toBe(true);
    expect(cache.size).toBe(2);
    expect(overflows).toBe(1);
    expect(cache.use("d", 9000, 4000)).toBe(false);
  });
});
