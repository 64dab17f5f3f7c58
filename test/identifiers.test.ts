import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrivateKey } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { SignJWT } from "jose";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { errorOf, managementClient, rest, tokenRequest } from "./helpers/clients.js";
import { myOrgId, oauthPost, zitadelError } from "./helpers/fixtures.js";

/**
 * Caller-chosen user ids, usernames and names (issue #19, items 2 and 3): one limit for ids in bytes
 * that every credential format holds, and no characters that make a user unreachable or its name
 * display as something else.
 */

const API_SCOPE = "openid profile urn:zitadel:iam:org:project:id:zitadel:aud";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

let s: TestServer;
let orgId: string;
beforeAll(async () => {
  s = await startTestServer({ storage: "pglite" });
  orgId = await myOrgId(s);
});
afterAll(async () => {
  await s?.close();
});

const seg = (id: string) => encodeURIComponent(id);
const addMachine = (body: Record<string, unknown>) => rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { name: "Svc", ...body } });

/** Creates the machine, then every credential it can have, end to end: secret, key (jwt-bearer), PAT; each token used. */
async function expectFullyWorking(userId: string, userName: string) {
  const created = await addMachine({ userName, userId });
  expect(created.status).toBe(200);
  expect(created.json.userId).toBe(userId);
  const got = await rest(s.url, "GET", `/management/v1/users/${seg(userId)}`, { token: s.pat });
  expect(got.status).toBe(200);
  expect(got.json.user).toMatchObject({ id: userId, userName });
  const grpc = await managementClient(s.url, "grpc", s.pat).getUserByID({ id: userId });
  expect(grpc.user?.id).toBe(userId);

  const secret = await rest(s.url, "PUT", `/management/v1/users/${seg(userId)}/secret`, { token: s.pat, body: {} });
  expect(secret.status).toBe(200);
  expect(secret.json.clientId).toBe(userName);
  const tok = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: userName, secret: secret.json.clientSecret });
  expect(tok.status).toBe(200);
  const info = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${tok.json.access_token}` } });
  expect(info.status).toBe(200);
  expect(((await info.json()) as { sub: string }).sub).toBe(userId);
  const intro = await oauthPost(s.url, "/oauth/v2/introspect", { token: tok.json.access_token, client_id: userName, client_secret: secret.json.clientSecret });
  expect(intro.json).toMatchObject({ active: true, sub: userId, username: userName });

  const key = await rest(s.url, "POST", `/management/v1/users/${seg(userId)}/keys`, { token: s.pat, body: { type: "KEY_TYPE_JSON" } });
  expect(key.status).toBe(200);
  const kf = JSON.parse(Buffer.from(key.json.keyDetails, "base64").toString("utf8")) as { keyId: string; key: string; userId: string };
  expect(kf.userId).toBe(userId);
  const assertion = await new SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: "RS256", kid: kf.keyId })
    .setIssuer(kf.userId)
    .setSubject(kf.userId)
    .setAudience(s.url)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(createPrivateKey(kf.key));
  const grant = await tokenRequest(s.url, { grant_type: JWT_BEARER, assertion, scope: API_SCOPE });
  expect(grant.status).toBe(200);
  expect((await rest(s.url, "GET", "/management/v1/iam", { token: grant.json.access_token })).status).toBe(200);

  const pat = await rest(s.url, "POST", `/management/v1/users/${seg(userId)}/pats`, { token: s.pat, body: {} });
  expect(pat.status).toBe(200);
  expect((await rest(s.url, "GET", "/management/v1/iam", { token: pat.json.token })).status).toBe(200);
}

describe("caller-chosen user ids: at most 200 bytes of UTF-8, and every credential format holds them", () => {
  const ID_TOO_LONG = zitadelError(3, "DOMAIN-Ud7qz", "the user id must be at most 200 bytes of UTF-8");

  it("refuses 128 multi-byte characters at creation (the proto's 200 characters would allow them), over REST and gRPC", async () => {
    for (const [i, id] of ["é".repeat(128), "😀".repeat(128), "a".repeat(199) + "é"].entries()) {
      const r = await addMachine({ userName: `long-id-${i}`, userId: id });
      expect(r.status, id).toBe(400);
      expect(r.json, id).toEqual(ID_TOO_LONG);
    }
    const err = await errorOf(managementClient(s.url, "grpc", s.pat).addMachineUser({ userName: "long-id-grpc", name: "x", userId: "ж".repeat(101) }));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.findDetails(ErrorDetailSchema)).toEqual([expect.objectContaining({ id: "DOMAIN-Ud7qz" })]);
    // Nothing was created: the usernames are still free.
    const free = await addMachine({ userName: "long-id-0" });
    expect(free.status).toBe(200);
  });

  it("an id of exactly 200 bytes works end to end: REST, gRPC, secret, key, PAT and their tokens", async () => {
    await expectFullyWorking("😀".repeat(50), "emoji-id-svc");
    await expectFullyWorking("é".repeat(100), "e-acute-id-svc");
    await expectFullyWorking("i".repeat(200), "ascii-200-svc");
  });
});

describe("identifier hygiene: control, bidi and padding", () => {
  const CHARS = { username: "DOMAIN-Un3hs", name: "DOMAIN-Nm8rf", id: "DOMAIN-Ud4pc" };

  it("refuses usernames with control characters, bidi overrides/isolates or directional marks", async () => {
    for (const userName of ["evil\u202egnp.exe", "tab\tname", "nul\u0000x", "del\u007fx", "c1\u0085x", "iso\u2066x\u2069", "mark\u200fx", "alm\u061cx", "line\u2028x"]) {
      const r = await addMachine({ userName });
      expect(r.status, JSON.stringify(userName)).toBe(400);
      expect(r.json.details?.[0]?.id, JSON.stringify(userName)).toBe(CHARS.username);
    }
  });

  it("refuses names with control characters and bidi overrides, but lets a right-to-left name keep its marks", async () => {
    for (const name of ["Bot\u202e", "two\nlines", "tab\tbed", "\u2067iso\u2069"]) {
      const r = await addMachine({ userName: `name-${Math.random().toString(36).slice(2)}`, name });
      expect(r.status, JSON.stringify(name)).toBe(400);
      expect(r.json.details?.[0]?.id, JSON.stringify(name)).toBe(CHARS.name);
    }
    const rtl = await addMachine({ userName: "rtl-name-svc", name: "\u05d1\u05d5\u05d8 1\u200f" });
    expect(rtl.status).toBe(200);
  });

  it("refuses ids that are . or .., padded with whitespace, or carry control or bidi characters", async () => {
    const cases: [string, string][] = [
      [".", "DOMAIN-Ud9wa"],
      ["..", "DOMAIN-Ud9wa"],
      [" padded", "DOMAIN-Ud2kx"],
      ["padded ", "DOMAIN-Ud2kx"],
      ["\u00a0nbsp", "DOMAIN-Ud2kx"],
      ["a\tb", CHARS.id],
      ["a\u202eb", CHARS.id],
      ["a\u200eb", CHARS.id],
    ];
    for (const [userId, errorId] of cases) {
      const r = await addMachine({ userName: `bad-id-${Math.random().toString(36).slice(2)}`, userId });
      expect(r.status, JSON.stringify(userId)).toBe(400);
      expect(r.json.details?.[0]?.id, JSON.stringify(userId)).toBe(errorId);
    }
    // Dots and slashes inside an id are fine (each REST path segment is decoded on its own).
    const ok = await addMachine({ userName: "dotted-id-svc", userId: "a/../b.c" });
    expect(ok.status).toBe(200);
    expect((await rest(s.url, "GET", `/management/v1/users/${seg("a/../b.c")}`, { token: s.pat })).json.user.id).toBe("a/../b.c");
  });

  it("usernames the claim keeps apart stay apart as client ids, whatever the database's lower() folds together (İ and i)", async () => {
    const ids: Record<string, string> = {};
    for (const userName of ["i", "İ", "ǅ-svc"]) {
      const r = await addMachine({ userName });
      expect(r.status, userName).toBe(200);
      ids[userName] = r.json.userId;
    }
    expect((await addMachine({ userName: "I" })).status).toBe(409); // the same as "i"
    for (const userName of Object.keys(ids)) {
      const secret = await rest(s.url, "PUT", `/management/v1/users/${ids[userName]}/secret`, { token: s.pat, body: {} });
      const tok = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: userName, secret: secret.json.clientSecret });
      expect(tok.status, userName).toBe(200);
      const info = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${tok.json.access_token}` } });
      expect(((await info.json()) as { sub: string }).sub, userName).toBe(ids[userName]);
    }
    // Another case of the same name is the same client (case-insensitive, as ZITADEL's lookup).
    const secret = await rest(s.url, "PUT", `/management/v1/users/${ids["ǅ-svc"]}/secret`, { token: s.pat, body: {} });
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: "ǆ-SVC", secret: secret.json.clientSecret })).status).toBe(200);
  });

  it("applies the same rules when a username or name changes", async () => {
    const created = await addMachine({ userName: "rename-svc" });
    const id = created.json.userId as string;
    const rename = await rest(s.url, "PUT", `/management/v1/users/${id}/username`, { token: s.pat, body: { userName: "x\u202ey" } });
    expect(rename.status).toBe(400);
    expect(rename.json.details[0].id).toBe(CHARS.username);
    const update = await rest(s.url, "PUT", `/management/v1/users/${id}/machine`, { token: s.pat, body: { name: "a\tb" } });
    expect(update.status).toBe(400);
    expect(update.json.details[0].id).toBe(CHARS.name);
    const fine = await rest(s.url, "PUT", `/management/v1/users/${id}/username`, { token: s.pat, body: { userName: "renamed-svc" } });
    expect(fine.status).toBe(200);
    expect(orgId).toBeTruthy();
  });
});
