import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";
import { managementClient, rest, errorOf } from "./helpers/clients.js";
import { ISO, NO_EXPIRY, addMachine, adminUserId, myOrgId, seedHumanAndForeignMachine, zitadelError } from "./helpers/fixtures.js";

const PAT_SCOPES = ["openid", "profile", "urn:zitadel:iam:user:metadata", "urn:zitadel:iam:user:resourceowner"];
const TOKEN_INVALID = zitadelError(16, "AUTH-7fs1e", "Errors.Token.Invalid");


describe.each<Storage>(["pglite", "postgres"])("personal access tokens over REST (%s)", (storage) => {
  let s: TestServer;
  let orgId: string;
  beforeAll(async () => {
    s = await startTestServer({ storage });
    orgId = await myOrgId(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  it("adds a PAT shown once, which authenticates the machine at once; Get/List show everything but the token", async () => {
    const userId = await addMachine(s, "pat-svc", "Pat Service");
    const added = await rest(s.url, "POST", `/management/v1/users/${userId}/pats`, { token: s.pat, body: {} });
    expect(added.status).toBe(200);
    expect(Object.keys(added.json).sort()).toEqual(["details", "token", "tokenId"]);
    expect(added.json.details).toEqual({ sequence: "2", creationDate: expect.stringMatching(ISO), resourceOwner: orgId });
    const { tokenId, token } = added.json as { tokenId: string; token: string };
    expect(tokenId).toMatch(/^\d{18,19}$/);
    expect(token).toMatch(/^[A-Za-z0-9_-]{60,}$/);

    const iam = await rest(s.url, "GET", "/management/v1/iam", { token });
    expect(iam.status).toBe(200);
    const info = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ sub: userId, name: "Pat Service", preferred_username: "pat-svc", "urn:zitadel:iam:user:resourceowner:id": orgId });

    const got = await rest(s.url, "GET", `/management/v1/users/${userId}/pats/${tokenId}`, { token: s.pat });
    expect(got.status).toBe(200);
    expect(got.json).toEqual({
      token: {
        id: tokenId,
        details: { sequence: "2", creationDate: added.json.details.creationDate, changeDate: added.json.details.creationDate, resourceOwner: orgId },
        expirationDate: NO_EXPIRY,
        scopes: PAT_SCOPES,
      },
    });
    const second = await rest(s.url, "POST", `/management/v1/users/${userId}/pats`, { token: s.pat, body: { expirationDate: "2999-01-02T03:04:05Z" } });
    expect(second.status).toBe(200);
    const list = await rest(s.url, "POST", `/management/v1/users/${userId}/pats/_search`, { token: s.pat, body: {} });
    expect(list.status).toBe(200);
    expect(list.json.details).toEqual({ totalResult: "2", processedSequence: expect.stringMatching(/^\d+$/), viewTimestamp: expect.stringMatching(ISO) });
    expect(list.json.result.map((t: { id: string; expirationDate: string }) => [t.id, t.expirationDate])).toEqual([
      [tokenId, NO_EXPIRY],
      [second.json.tokenId, "2999-01-02T03:04:05Z"],
    ]);
    expect(JSON.stringify(list.json)).not.toContain(token);

    // Stored as a keyed hash only: the token appears nowhere in the event store.
    const rows = await s.rt.sql.query<{ payload: unknown }>("SELECT payload FROM events WHERE aggregate_id = $1", [userId]);
    const stored = JSON.stringify(rows.map((r) => r.payload));
    expect(stored).not.toContain(token);
    expect(stored).toContain('"tokenHash"');
  });

  it("ends the PAT on the very next request once it is removed", async () => {
    const userId = await addMachine(s, "pat-remove-svc");
    const { json } = await rest(s.url, "POST", `/management/v1/users/${userId}/pats`, { token: s.pat, body: {} });
    expect((await rest(s.url, "GET", "/management/v1/iam", { token: json.token })).status).toBe(200);

    const del = await rest(s.url, "DELETE", `/management/v1/users/${userId}/pats/${json.tokenId}`, { token: s.pat });
    expect(del.status).toBe(200);
    expect(del.json).toEqual({ details: { sequence: "3", changeDate: expect.stringMatching(ISO), resourceOwner: orgId } });

    const after = await rest(s.url, "GET", "/management/v1/iam", { token: json.token });
    expect(after.status).toBe(401);
    expect(after.json).toEqual(TOKEN_INVALID);
    expect(after.headers.get("www-authenticate")).toBe("Errors.Token.Invalid (AUTH-7fs1e)");
    const info = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${json.token}` } });
    expect(info.status).toBe(401);

    const again = await rest(s.url, "DELETE", `/management/v1/users/${userId}/pats/${json.tokenId}`, { token: s.pat });
    expect(again.status).toBe(404);
    expect(again.json).toEqual(zitadelError(5, "COMMAND-4m77G", "Personal Access Token not found"));
    const get = await rest(s.url, "GET", `/management/v1/users/${userId}/pats/${json.tokenId}`, { token: s.pat });
    expect(get.status).toBe(404);
    expect(get.json).toEqual(zitadelError(5, "QUERY-fRunu", "Errors.PersonalAccessToken.NotFound"));
  });

  it("answers ZITADEL's errors for past expiry, unknown, human and other-org users", async () => {
    const userId = await addMachine(s, "pat-err-svc");
    const { humanId, foreignUserId } = await seedHumanAndForeignMachine(s, orgId);
    const add = (id: string, body: unknown = {}) => rest(s.url, "POST", `/management/v1/users/${id}/pats`, { token: s.pat, body });

    const past = await add(userId, { expirationDate: "2020-01-01T00:00:00Z" });
    expect(past.status).toBe(400);
    expect(past.json).toEqual(zitadelError(3, "DOMAIN-dv3t5", "Errors.AuthNKey.ExpireBeforeNow"));
    // Go's zero time.Time (what a Go client sends for an unset date) means "never", as in ZITADEL
    // (ValidateExpirationDate checks IsZero), for a PAT and for a key.
    const ZERO = "0001-01-01T00:00:00Z";
    const zero = await add(userId, { expirationDate: ZERO });
    expect(zero.status).toBe(200);
    const zeroPat = await rest(s.url, "GET", `/management/v1/users/${userId}/pats/${zero.json.tokenId}`, { token: s.pat });
    expect(zeroPat.json.token.expirationDate).toBe(NO_EXPIRY);
    const key = await rest(s.url, "POST", `/management/v1/users/${userId}/keys`, { token: s.pat, body: { type: "KEY_TYPE_JSON", expirationDate: ZERO } });
    expect(key.status).toBe(200);
    const zeroKey = await rest(s.url, "GET", `/management/v1/users/${userId}/keys/${key.json.keyId}`, { token: s.pat });
    expect(zeroKey.json.key.expirationDate).toBe(NO_EXPIRY);
    // A second later is a date like any other: in the past.
    expect((await add(userId, { expirationDate: "0001-01-01T00:00:01Z" })).json).toEqual(past.json);
    const human = await add(humanId);
    expect(human.status).toBe(400);
    expect(human.json).toEqual(zitadelError(9, "COMMAND-Df2f1", "Not allowed for this user type"));
    for (const id of ["no-such-user", foreignUserId]) {
      const r = await add(id);
      expect(r.status).toBe(400);
      expect(r.json).toEqual(zitadelError(9, "COMMAND-Dggw2", "User could not be found"));
    }
    const list = await rest(s.url, "POST", `/management/v1/users/${foreignUserId}/pats/_search`, { token: s.pat, body: {} });
    expect(list.status).toBe(200);
    expect(list.json.result).toBeUndefined();

    // A deactivated machine may get a PAT; it works once the machine is active again.
    expect((await rest(s.url, "POST", `/management/v1/users/${userId}/_deactivate`, { token: s.pat, body: {} })).status).toBe(200);
    const pat = await add(userId);
    expect(pat.status).toBe(200);
    expect((await rest(s.url, "GET", "/management/v1/iam", { token: pat.json.token })).status).toBe(401);
    expect((await rest(s.url, "POST", `/management/v1/users/${userId}/_reactivate`, { token: s.pat, body: {} })).status).toBe(200);
    expect((await rest(s.url, "GET", "/management/v1/iam", { token: pat.json.token })).status).toBe(200);
  });
});

describe("personal access tokens over gRPC", () => {
  let offsetMs = 0;
  let s: TestServer;
  let admin: string;
  /** An admin PAT of its own, because the rotation test removes the bootstrap PAT. */
  let spare: string;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite", clock: () => new Date(Date.now() + offsetMs) });
    admin = await adminUserId(s);
    spare = (await rest(s.url, "POST", `/management/v1/users/${admin}/pats`, { token: s.pat, body: {} })).json.token as string;
  });
  afterAll(async () => {
    await s?.close();
  });
  afterEach(() => {
    offsetMs = 0;
  });

  it("rotates the admin's PAT with the official client: the new PAT works, the removed one is refused at once", async () => {
    const bootstrapClient = managementClient(s.url, "grpc", s.pat);
    const added = await bootstrapClient.addPersonalAccessToken({ userId: admin });
    expect(added.details?.sequence).toBeGreaterThan(0n);
    expect(added.details?.creationDate).toBeDefined();
    expect(added.details?.changeDate).toBeUndefined();

    const fresh = managementClient(s.url, "grpc", added.token);
    const list = await fresh.listPersonalAccessTokens({ userId: admin });
    expect(list.details?.totalResult).toBe(3n);
    const bootstrapPat = list.result[0]!;
    expect(bootstrapPat.scopes).toEqual(PAT_SCOPES);
    const got = await fresh.getPersonalAccessTokenByIDs({ userId: admin, tokenId: added.tokenId });
    expect(got.token?.id).toBe(added.tokenId);
    expect(got.token?.expirationDate?.seconds).toBe(BigInt(Date.parse(NO_EXPIRY) / 1000));

    // The new PAT removes the bootstrap PAT; the bootstrap PAT is refused on its next call, on every protocol.
    const removed = await fresh.removePersonalAccessToken({ userId: admin, tokenId: bootstrapPat.id });
    expect(removed.details?.changeDate).toBeDefined();
    const err = await errorOf(bootstrapClient.getMyOrg({}));
    expect(err?.code).toBe(Code.Unauthenticated);
    expect(err?.rawMessage).toBe("Errors.Token.Invalid (AUTH-7fs1e)");
    expect(err?.findDetails(ErrorDetailSchema)).toEqual([expect.objectContaining({ id: "AUTH-7fs1e", message: "Errors.Token.Invalid" })]);
    for (const protocol of ["grpc-web", "connect"] as const) expect((await errorOf(managementClient(s.url, protocol, s.pat).getMyOrg({})))?.code).toBe(Code.Unauthenticated);
    expect((await fresh.getMyOrg({})).org?.id).toBeTruthy();

    const notFound = await errorOf(fresh.removePersonalAccessToken({ userId: admin, tokenId: bootstrapPat.id }));
    expect(notFound?.code).toBe(Code.NotFound);
    expect(notFound?.rawMessage).toBe("Personal Access Token not found (COMMAND-4m77G)");
  });

  it("ends an expired PAT on the next request (injected clock)", async () => {
    const issuer = managementClient(s.url, "grpc", spare);
    const { userId } = await issuer.addMachineUser({ userName: "pat-expiry-svc", name: "E" });
    const pat = await issuer.addPersonalAccessToken({ userId, expirationDate: timestampFromDate(new Date(Date.now() + 3600_000)) });
    const machine = managementClient(s.url, "grpc", pat.token);
    expect((await machine.getIAM({})).defaultOrgId).toBeTruthy();

    offsetMs = 3600_000 + 1000;
    const err = await errorOf(machine.getIAM({}));
    expect(err?.code).toBe(Code.Unauthenticated);
    expect(err?.rawMessage).toBe("Errors.Token.Invalid (AUTH-7fs1e)");
    const info = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${pat.token}` } });
    expect(info.status).toBe(401);
    // Still listed, with its expiration; the admin's own PAT never expires.
    const listed = await issuer.listPersonalAccessTokens({ userId });
    expect(listed.result.map((t) => t.id)).toEqual([pat.tokenId]);

    // A PAT may not be created already expired, by the server's clock.
    const past = await errorOf(issuer.addPersonalAccessToken({ userId, expirationDate: timestampFromDate(new Date(Date.now() + 60_000)) }));
    expect(past?.code).toBe(Code.InvalidArgument);
    expect(past?.rawMessage).toBe("Errors.AuthNKey.ExpireBeforeNow (DOMAIN-dv3t5)");
  });
});
