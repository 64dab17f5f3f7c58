import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, organizationServiceV2, rest, tokenRequest, userServiceV2 } from "./helpers/clients.js";
import { myOrgId } from "./helpers/fixtures.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

/**
 * zitadel.user.v2.UserService (machine users) and zitadel.org.v2.OrganizationService with the
 * official @zitadel/client v2 clients over gRPC and Connect, and fetch over REST where the proto has
 * routes. The admin's PAT is IAM_OWNER.
 */

const API = "openid urn:zitadel:iam:org:project:id:zitadel:aud";
const inAnHour = () => timestampFromDate(new Date(Date.now() + 3600_000));

let s: TestServer;
let orgId: string;

beforeAll(async () => {
  s = await startTestServer({ storage: "pglite" });
  orgId = await myOrgId(s);
});
afterAll(async () => {
  await s?.close();
});

describe.each(["grpc", "connect"] as const)("UserService v2 over %s", (protocol) => {
  const users = () => userServiceV2(s.url, protocol, s.pat);
  const name = (n: string) => `${protocol}-${n}`;

  it("CreateUser makes a machine (chosen id, username falling back to the id), GetUserByID reads it with v2 details", async () => {
    const created = await users().createUser({ organizationId: orgId, username: name("svc"), userType: { case: "machine", value: { name: "Svc", description: "a service" } } });
    expect(created.id).toMatch(/^\d+$/);
    expect(created.creationDate).toBeDefined();
    const got = await users().getUserByID({ userId: created.id });
    expect(got.user?.userId).toBe(created.id);
    expect(got.user?.username).toBe(name("svc"));
    expect(got.user?.state).toBe(1);
    expect(got.user?.type).toMatchObject({ case: "machine", value: { name: "Svc", description: "a service", hasSecret: false } });
    expect(got.details).toMatchObject({ resourceOwner: orgId });
    expect(got.details?.sequence).toBeGreaterThan(0n);
    expect(got.details?.creationDate).toBeDefined();
    expect(got.details?.changeDate).toBeDefined();

    const chosen = await users().createUser({ organizationId: orgId, userId: name("chosen-id"), userType: { case: "machine", value: { name: "Chosen" } } });
    expect(chosen.id).toBe(name("chosen-id"));
    expect((await users().getUserByID({ userId: chosen.id })).user?.username).toBe(name("chosen-id"));
  });

  it("refuses bad input with ZITADEL's v2 errors and writes nothing", async () => {
    const taken = await users().createUser({ organizationId: orgId, userId: name("taken"), userType: { case: "machine", value: { name: "T" } } });
    const again = await errorOf(users().createUser({ organizationId: orgId, userId: taken.id, username: name("other"), userType: { case: "machine", value: { name: "T" } } }));
    expect(again?.code).toBe(Code.FailedPrecondition);
    expect(again?.rawMessage).toContain("COMMAND-k2una");
    // the username of the refused call stays free
    await users().createUser({ organizationId: orgId, username: name("other"), userType: { case: "machine", value: { name: "T" } } });

    const unknownOrg = await errorOf(users().createUser({ organizationId: "no-such-org", userType: { case: "machine", value: { name: "T" } } }));
    expect(unknownOrg?.code).toBe(Code.FailedPrecondition);
    expect(unknownOrg?.rawMessage).toContain("COMMAND-QXPGs");

    const noOrg = await errorOf(users().createUser({ organizationId: "", userType: { case: "machine", value: { name: "T" } } }));
    expect(noOrg?.code).toBe(Code.InvalidArgument);

    const human = await errorOf(
      users().createUser({ organizationId: orgId, userType: { case: "human", value: { profile: { givenName: "A", familyName: "B" }, email: { email: "a@b.ch" } } } }),
    );
    expect(human?.code).toBe(Code.Unimplemented);
    expect(human?.rawMessage).toContain("CreateUser");

    const noExpiryKey = await errorOf(users().addKey({ userId: taken.id }));
    expect(noExpiryKey?.code).toBe(Code.InvalidArgument);
    expect(noExpiryKey?.rawMessage).toMatch(/ExpirationDate: value is required/);
    const noExpiryPat = await errorOf(users().addPersonalAccessToken({ userId: taken.id }));
    expect(noExpiryPat?.code).toBe(Code.InvalidArgument);
    const listed = await users().listKeys({ filters: [{ filter: { case: "userIdFilter", value: { id: taken.id } } }] });
    expect(listed.result).toEqual([]);

    const humanUpdate = await errorOf(users().updateUser({ userId: taken.id, userType: { case: "human", value: {} } }));
    expect(humanUpdate?.code).toBe(Code.Unimplemented);
  });

  it("UpdateUser changes a machine's username, name and description, each only when given", async () => {
    const { id } = await users().createUser({ organizationId: orgId, username: name("upd"), userType: { case: "machine", value: { name: "Before", description: "d" } } });
    const r = await users().updateUser({ userId: id, username: name("upd-2"), userType: { case: "machine", value: { name: "After" } } });
    expect(r.changeDate).toBeDefined();
    const got = await users().getUserByID({ userId: id });
    expect(got.user?.username).toBe(name("upd-2"));
    expect(got.user?.type).toMatchObject({ case: "machine", value: { name: "After", description: "d" } });
    // a refused change writes nothing: a bad name keeps the new username from being written too
    const bad = await errorOf(users().updateUser({ userId: id, username: name("upd-3"), userType: { case: "machine", value: { name: "bad\u202Ename" } } }));
    expect(bad?.code).toBe(Code.InvalidArgument);
    expect((await users().getUserByID({ userId: id })).user?.username).toBe(name("upd-2"));
    const unknown = await errorOf(users().updateUser({ userId: "nobody", userType: { case: "machine", value: { name: "X" } } }));
    expect(unknown?.code).toBe(Code.NotFound);
  });

  it("ListUsers finds machines by its query kinds", async () => {
    const { id } = await users().createUser({ organizationId: orgId, username: name("listed"), userType: { case: "machine", value: { name: "Listed" } } });
    const byName = await users().listUsers({ queries: [{ query: { case: "userNameQuery", value: { userName: name("listed"), method: 0 } } }] });
    expect(byName.result.map((u) => u.userId)).toEqual([id]);
    expect(byName.details?.totalResult).toBe(1n);
    const machinesInOrg = await users().listUsers({
      queries: [
        { query: { case: "organizationIdQuery", value: { organizationId: orgId } } },
        { query: { case: "typeQuery", value: { type: 2 } } },
        { query: { case: "inUserIdsQuery", value: { userIds: [id] } } },
        { query: { case: "stateQuery", value: { state: 1 } } },
      ],
    });
    expect(machinesInOrg.result.map((u) => u.userId)).toEqual([id]);
    const email = await users().listUsers({ queries: [{ query: { case: "emailQuery", value: { emailAddress: "x", method: 0 } } }] });
    expect(email.result).toEqual([]);
  });

  it("Deactivate/Reactivate/Lock/Unlock/DeleteUser change the state, with v2 details", async () => {
    const { id } = await users().createUser({ organizationId: orgId, username: name("states"), userType: { case: "machine", value: { name: "S" } } });
    const d = await users().deactivateUser({ userId: id });
    expect(d.details).toMatchObject({ resourceOwner: orgId });
    expect(d.details?.changeDate).toBeDefined();
    expect((await users().getUserByID({ userId: id })).user?.state).toBe(2);
    // ZITADEL's v2 ids and keys (command/user_v2.go), not v1's.
    const again = await errorOf(users().deactivateUser({ userId: id }));
    expect([again?.code, again?.rawMessage]).toEqual([Code.FailedPrecondition, "Errors.User.AlreadyInactive (COMMAND-5gunjw0cd7)"]);
    const lockInactive = await errorOf(users().lockUser({ userId: id }));
    expect([lockInactive?.code, lockInactive?.rawMessage]).toEqual([Code.FailedPrecondition, "Errors.User.ShouldBeActiveOrInitial (COMMAND-lgws8wtsqf)"]);
    await users().reactivateUser({ userId: id });
    expect((await errorOf(users().reactivateUser({ userId: id })))?.rawMessage).toBe("Errors.User.NotInactive (COMMAND-s5qqcz97hf)");
    expect((await errorOf(users().unlockUser({ userId: id })))?.rawMessage).toBe("Errors.User.NotLocked (COMMAND-olb9vb0oca)");
    // An unknown user: each command's own v2 not-found id.
    for (const [call, message] of [
      [() => users().deactivateUser({ userId: "no-such-user" }), "Errors.User.NotFound (COMMAND-5gp2p62iin)"],
      [() => users().reactivateUser({ userId: "no-such-user" }), "Errors.User.NotFound (COMMAND-9hy5kzbuk6)"],
      [() => users().lockUser({ userId: "no-such-user" }), "Errors.User.NotFound (COMMAND-450yxuqrh1)"],
      [() => users().unlockUser({ userId: "no-such-user" }), "Errors.User.NotFound (COMMAND-x377t913pw)"],
      [() => users().deleteUser({ userId: "no-such-user" }), "Errors.User.NotFound (COMMAND-bd4ir1mblj)"],
    ] as const) {
      const e = await errorOf(call());
      expect([e?.code, e?.rawMessage]).toEqual([Code.NotFound, message]);
    }
    await users().lockUser({ userId: id });
    expect((await users().getUserByID({ userId: id })).user?.state).toBe(4);
    await users().unlockUser({ userId: id });
    expect((await users().getUserByID({ userId: id })).user?.state).toBe(1);
    const del = await users().deleteUser({ userId: id });
    expect(del.details?.resourceOwner).toBe(orgId);
    expect((await errorOf(users().getUserByID({ userId: id })))?.code).toBe(Code.NotFound);
  });

  it("AddSecret/RemoveSecret: the secret works at the token endpoint until removed", async () => {
    const { id } = await users().createUser({ organizationId: orgId, username: name("secret"), userType: { case: "machine", value: { name: "S" } } });
    const added = await users().addSecret({ userId: id });
    expect(added.clientSecret).toMatch(/^pcs_[A-Za-z0-9]{64}$/);
    expect(added.creationDate).toBeDefined();
    expect((await users().getUserByID({ userId: id })).user?.type).toMatchObject({ value: { hasSecret: true } });
    const basic = { id: name("secret"), secret: added.clientSecret };
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, basic)).status).toBe(200);
    const removed = await users().removeSecret({ userId: id });
    expect(removed.deletionDate).toBeDefined();
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, basic)).status).toBe(401);
    expect((await errorOf(users().removeSecret({ userId: id })))?.code).toBe(Code.FailedPrecondition);
  });

  it("AddKey/ListKeys/RemoveKey", async () => {
    const { id } = await users().createUser({ organizationId: orgId, username: name("keys"), userType: { case: "machine", value: { name: "K" } } });
    const exp = inAnHour();
    const key = await users().addKey({ userId: id, expirationDate: exp });
    expect(key.keyId).toMatch(/^\d+$/);
    const file = JSON.parse(new TextDecoder().decode(key.keyContent));
    expect(file).toMatchObject({ type: "serviceaccount", keyId: key.keyId, userId: id });
    const listed = await users().listKeys({ filters: [{ filter: { case: "userIdFilter", value: { id } } }] });
    expect(listed.pagination?.totalResult).toBe(1n);
    // ZITADEL's pagination defaults: no limit is 100 (what the response reports), more than 1000 is refused.
    expect(listed.pagination?.appliedLimit).toBe(100n);
    const five = await users().listKeys({ pagination: { offset: 0n, limit: 5, asc: false }, filters: [{ filter: { case: "userIdFilter", value: { id } } }] });
    expect(five.pagination?.appliedLimit).toBe(5n);
    const tooMany = await errorOf(users().listKeys({ pagination: { offset: 0n, limit: 1001, asc: false } }));
    expect([tooMany?.code, tooMany?.rawMessage]).toEqual([Code.InvalidArgument, "Errors.Query.LimitExceeded (QUERY-4M0fs)"]);
    expect(listed.result[0]).toMatchObject({ id: key.keyId, userId: id, organizationId: orgId });
    expect(timestampDate(listed.result[0]!.expirationDate!).getTime()).toBe(timestampDate(exp).getTime());
    const byKey = await users().listKeys({ filters: [{ filter: { case: "keyIdFilter", value: { id: key.keyId } } }, { filter: { case: "organizationIdFilter", value: { id: orgId } } }] });
    expect(byKey.result.map((k) => k.id)).toEqual([key.keyId]);
    const past = await errorOf(users().addKey({ userId: id, expirationDate: timestampFromDate(new Date(Date.now() - 60_000)) }));
    expect(past?.code).toBe(Code.InvalidArgument);
    expect((await users().removeKey({ userId: id, keyId: key.keyId })).deletionDate).toBeDefined();
    expect((await users().listKeys({ filters: [{ filter: { case: "userIdFilter", value: { id } } }] })).result).toEqual([]);
    expect((await errorOf(users().removeKey({ userId: id, keyId: key.keyId })))?.code).toBe(Code.NotFound);
  });

  it("AddPersonalAccessToken/ListPersonalAccessTokens/RemovePersonalAccessToken; the PAT works until removed", async () => {
    const { id } = await users().createUser({ organizationId: orgId, username: name("pats"), userType: { case: "machine", value: { name: "P" } } });
    const pat = await users().addPersonalAccessToken({ userId: id, expirationDate: inAnHour() });
    expect(pat.token).toBeTruthy();
    expect(pat.creationDate).toBeDefined();
    const listed = await users().listPersonalAccessTokens({ filters: [{ filter: { case: "userIdFilter", value: { id } } }] });
    expect(listed.result.map((p) => [p.id, p.userId, p.organizationId])).toEqual([[pat.tokenId, id, orgId]]);
    const info = () => fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${pat.token}` } });
    expect((await info()).status).toBe(200);
    expect((await users().removePersonalAccessToken({ userId: id, tokenId: pat.tokenId })).deletionDate).toBeDefined();
    expect((await info()).status).toBe(401);
  });

  it("SetUserMetadata/ListUserMetadata/DeleteUserMetadata", async () => {
    const { id } = await users().createUser({ organizationId: orgId, username: name("md"), userType: { case: "machine", value: { name: "M" } } });
    const enc = (v: string) => new TextEncoder().encode(v);
    const set = await users().setUserMetadata({ userId: id, metadata: [{ key: "a", value: enc("1") }, { key: "b", value: enc("2") }] });
    expect(set.setDate).toBeDefined();
    const all = await users().listUserMetadata({ userId: id });
    expect(all.metadata.map((m) => [m.key, new TextDecoder().decode(m.value)])).toEqual([["a", "1"], ["b", "2"]]);
    expect(all.pagination?.totalResult).toBe(2n);
    const onlyB = await users().listUserMetadata({ userId: id, filters: [{ filter: { case: "keyFilter", value: { key: "b", method: 0 } } }] });
    expect(onlyB.metadata.map((m) => m.key)).toEqual(["b"]);
    expect((await users().deleteUserMetadata({ userId: id, keys: ["a"] })).deletionDate).toBeDefined();
    expect((await users().listUserMetadata({ userId: id })).metadata.map((m) => m.key)).toEqual(["b"]);
    expect((await errorOf(users().deleteUserMetadata({ userId: id, keys: ["a"] })))?.code).toBe(Code.NotFound);
  });

  it("human-only methods answer Unimplemented naming the method", async () => {
    const e = await errorOf(users().setPassword({ userId: "x", newPassword: { password: "Secr3t!!", changeRequired: false } }));
    expect(e?.code).toBe(Code.Unimplemented);
    expect(e?.rawMessage).toContain("zitadel.user.v2.UserService.SetPassword");
  });
});

describe.each(["grpc", "connect"] as const)("OrganizationService v2 over %s", (protocol) => {
  const orgs = () => organizationServiceV2(s.url, protocol, s.pat);

  it("AddOrganization with existing users as admins; ListOrganizations finds it", async () => {
    const users = userServiceV2(s.url, protocol, s.pat);
    const admin = await users.createUser({ organizationId: orgId, username: `${protocol}-org-admin`, userType: { case: "machine", value: { name: "A" } } });
    const added = await orgs().addOrganization({ name: `${protocol} Org V2`, admins: [{ userType: { case: "userId", value: admin.id }, roles: [] }] });
    expect(added.organizationId).toMatch(/^\d+$/);
    expect(added.details?.resourceOwner).toBeDefined();
    expect(added.details?.creationDate).toBeDefined();
    // the admin is ORG_OWNER of the new org (v1 sees the membership)
    const members = await rest(s.url, "POST", "/management/v1/orgs/me/members/_search", { token: s.pat, orgId: added.organizationId, body: {} });
    expect(members.json.result.map((m: { userId: string; roles: string[] }) => [m.userId, m.roles])).toEqual([[admin.id, ["ORG_OWNER"]]]);

    const listed = await orgs().listOrganizations({ queries: [{ query: { case: "idQuery", value: { id: added.organizationId } } }] });
    expect(listed.result).toMatchObject([{ id: added.organizationId, name: `${protocol} Org V2`, state: 1 }]);
    const byName = await orgs().listOrganizations({ queries: [{ query: { case: "nameQuery", value: { name: `${protocol} Org V2`, method: 0 } } }] });
    expect(byName.details?.totalResult).toBe(1n);
    const dflt = await orgs().listOrganizations({ queries: [{ query: { case: "defaultQuery", value: {} } }] });
    expect(dflt.result.map((o) => o.id)).toEqual([orgId]);

    const chosen = await orgs().addOrganization({ name: `${protocol} Chosen`, orgId: `${protocol}-chosen-org` });
    expect(chosen.organizationId).toBe(`${protocol}-chosen-org`);
    const taken = await errorOf(orgs().addOrganization({ name: `${protocol} Chosen 2`, orgId: `${protocol}-chosen-org` }));
    expect(taken?.code).toBe(Code.AlreadyExists);
    const unknownAdmin = await errorOf(orgs().addOrganization({ name: `${protocol} Nobody`, admins: [{ userType: { case: "userId", value: "nobody" }, roles: [] }] }));
    expect(unknownAdmin?.code).toBe(Code.FailedPrecondition);
    expect(unknownAdmin?.rawMessage).toContain("ORG-GoXOn");
    const noName = await errorOf(orgs().listOrganizations({ queries: [{ query: { case: "nameQuery", value: { name: `${protocol} Nobody`, method: 0 } } }] }));
    expect(noName).toBeUndefined();
  });
});

describe("REST routes of the v2 services", () => {
  it("serve the methods that have google.api.http routes", async () => {
    const add = await userServiceV2(s.url, "connect", s.pat).createUser({
      organizationId: orgId,
      username: "rest-v2",
      userType: { case: "machine", value: { name: "Rest" } },
    });
    const id = add.id;
    const get = await rest(s.url, "GET", `/v2/users/${id}`, { token: s.pat });
    expect(get.status).toBe(200);
    expect(get.json.user).toMatchObject({ userId: id, username: "rest-v2", state: "USER_STATE_ACTIVE", machine: { name: "Rest" } });
    expect(get.json.details).toMatchObject({ resourceOwner: orgId });
    const list = await rest(s.url, "POST", "/v2/users", { token: s.pat, body: { queries: [{ userNameQuery: { userName: "rest-v2" } }] } });
    expect(list.json.result.map((u: { userId: string }) => u.userId)).toEqual([id]);
    expect(list.json.details.totalResult).toBe("1");
    for (const step of ["deactivate", "reactivate", "lock", "unlock"]) {
      const r = await rest(s.url, "POST", `/v2/users/${id}/${step}`, { token: s.pat, body: {} });
      expect(r.status, step).toBe(200);
      expect(r.json.details.resourceOwner).toBe(orgId);
    }
    const setMd = await rest(s.url, "POST", `/v2/users/${id}/metadata`, { token: s.pat, body: { metadata: [{ key: "k", value: Buffer.from("v").toString("base64") }] } });
    expect(setMd.status).toBe(200);
    const md = await rest(s.url, "POST", `/v2/users/${id}/metadata/search`, { token: s.pat, body: {} });
    expect(md.json.metadata).toMatchObject([{ key: "k", value: Buffer.from("v").toString("base64") }]);
    const delMd = await rest(s.url, "DELETE", `/v2/users/${id}/metadata?keys=k`, { token: s.pat });
    expect(delMd.status).toBe(200);
    const orgs = await rest(s.url, "POST", "/v2/organizations/_search", { token: s.pat, body: { queries: [{ idQuery: { id: orgId } }] } });
    expect(orgs.json.result.map((o: { id: string }) => o.id)).toEqual([orgId]);
    const newOrg = await rest(s.url, "POST", "/v2/organizations", { token: s.pat, body: { name: "Rest Org V2" } });
    expect(newOrg.status).toBe(200);
    expect(newOrg.json.organizationId).toMatch(/^\d+$/);
    const del = await rest(s.url, "DELETE", `/v2/users/${id}`, { token: s.pat });
    expect(del.status).toBe(200);
    expect((await rest(s.url, "GET", `/v2/users/${id}`, { token: s.pat })).status).toBe(404);
    expect((await rest(s.url, "POST", `/v2/users/${id}/password`, { token: s.pat, body: {} })).status).toBe(501);
    expect((await rest(s.url, "GET", "/v2/nothing-here", { token: s.pat })).status).toBe(404);
  });
});

describe("v1 and v2 see one truth", () => {
  it("a machine created with v2 is read and managed with v1, and the other way round", async () => {
    const v2 = userServiceV2(s.url, "connect", s.pat);
    const { id } = await v2.createUser({ organizationId: orgId, username: "made-by-v2", userType: { case: "machine", value: { name: "V2" } } });
    const v1get = await rest(s.url, "GET", `/management/v1/users/${id}`, { token: s.pat });
    expect(v1get.json.user).toMatchObject({ id, userName: "made-by-v2", machine: { name: "V2" } });
    const v1update = await rest(s.url, "PUT", `/management/v1/users/${id}/machine`, { token: s.pat, body: { name: "Renamed by v1" } });
    expect(v1update.status).toBe(200);
    expect((await v2.getUserByID({ userId: id })).user?.type).toMatchObject({ value: { name: "Renamed by v1" } });

    const v1add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "made-by-v1", name: "V1" } });
    const v1id = v1add.json.userId as string;
    await v2.lockUser({ userId: v1id });
    expect((await rest(s.url, "GET", `/management/v1/users/${v1id}`, { token: s.pat })).json.user.state).toBe("USER_STATE_LOCKED");
    await v2.deleteUser({ userId: v1id });
    expect((await rest(s.url, "GET", `/management/v1/users/${v1id}`, { token: s.pat })).status).toBe(404);
  });
});

