import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, type ConnectError } from "@connectrpc/connect";
import { KeyType } from "@zitadel/proto/zitadel/auth_n_key_pb.js";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";
import { errorOf, managementClient, rest } from "./helpers/clients.js";
import { adminUserId, myOrgId, zitadelError } from "./helpers/fixtures.js";
import { createMachine, createOrg, createPrincipal, type Principal } from "./helpers/principals.js";

/**
 * Issue #19, "Hostile callers, round two": privilege and escalation, over the wire.
 *  1. The privilege ceiling: ZITADEL's `user.write` lets an ORG_USER_MANAGER mint a PAT, secret or key
 *     for any user of its org — the instance's IAM_OWNER included — and then act as it (three calls
 *     to instance owner). Nobody may act on a user that holds permissions the caller does not.
 *  2. SELF_MANAGEMENT_GLOBAL (org.create) only in the instance's default org, as ListOrgMemberRoles offers it.
 */

const ABOVE = zitadelError(7, "AUTHZ-ceiling", "The user holds permissions the caller does not have");
const GRANT = zitadelError(7, "AUTHZ-ceiling", "The roles would give the user permissions the caller does not have");
const NO_PERMISSION = zitadelError(7, "AUTH-5mWD2", "No matching permissions found");
const MEMBER_INVALID = zitadelError(3, "Org-4N8es", "Errors.Org.MemberInvalid");
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The gRPC error's code and ZITADEL error detail. */
const grpcError = (e: ConnectError | undefined) => ({ code: e?.code, details: e?.findDetails(ErrorDetailSchema).map((d) => ({ id: d.id, message: d.message })) });

describe.each<Storage>(["pglite", "postgres"])("the privilege ceiling (%s)", (storage) => {
  let s: TestServer;
  let orgId: string;
  let adminId: string;
  let manager: Principal;
  let owner: Principal;
  let iamOwner: Principal;
  let n = 0;
  const mgmt = (method: string, path: string, opts: { token?: string; orgId?: string; body?: unknown } = {}) =>
    rest(s.url, method, `/management/v1${path}`, { token: s.pat, ...opts });
  const machine = () => createMachine(s.rt.deps, orgId, `ceiling-${storage}-${++n}`);
  const userEvents = async (userId: string) => (await s.rt.deps.store.load(s.rt.deps.instanceId, "user", userId)).length;

  beforeAll(async () => {
    s = await startTestServer({ storage });
    orgId = await myOrgId(s);
    adminId = await adminUserId(s);
    const d = s.rt.deps;
    manager = await createPrincipal(d, { orgId, userName: `ceiling-manager-${storage}`, orgRoles: [{ orgId, roles: ["ORG_USER_MANAGER"] }] });
    owner = await createPrincipal(d, { orgId, userName: `ceiling-owner-${storage}`, orgRoles: [{ orgId, roles: ["ORG_OWNER"] }] });
    iamOwner = await createPrincipal(d, { orgId, userName: `ceiling-iam-owner-${storage}`, iamRoles: ["IAM_OWNER"] });
  });
  afterAll(async () => {
    await s?.close();
  });

  describe("the three-call escalation (ORG_USER_MANAGER → credential of the IAM_OWNER → instance owner) stops at the first call", () => {
    it("over REST, for a PAT, a secret and a key; nothing is written and the manager gains nothing", async () => {
      const before = await userEvents(adminId);
      const attempts = [
        ["POST", `/users/${adminId}/pats`, {}],
        ["PUT", `/users/${adminId}/secret`, {}],
        ["POST", `/users/${adminId}/keys`, { type: "KEY_TYPE_JSON" }],
      ] as const;
      for (const [method, path, body] of attempts) {
        const r = await mgmt(method, path, { token: manager.pat, body });
        expect([path, r.status, r.json]).toEqual([path, 403, ABOVE]);
      }
      expect(await userEvents(adminId)).toBe(before);
      // The step the credential was for: the manager cannot reach the admin API.
      expect((await rest(s.url, "PUT", `/admin/v1/members/${manager.userId}`, { token: manager.pat, body: { roles: ["IAM_OWNER"] } })).json).toEqual(NO_PERMISSION);
    });

    it("over gRPC with the official client: PermissionDenied with the error id", async () => {
      const client = managementClient(s.url, "grpc", manager.pat);
      const want = { code: Code.PermissionDenied, details: [{ id: "AUTHZ-ceiling", message: "The user holds permissions the caller does not have" }] };
      expect(grpcError(await errorOf(client.addPersonalAccessToken({ userId: adminId })))).toEqual(want);
      expect(grpcError(await errorOf(client.generateMachineSecret({ userId: adminId })))).toEqual(want);
      expect(grpcError(await errorOf(client.addMachineKey({ userId: adminId, type: KeyType.JSON })))).toEqual(want);
      expect(grpcError(await errorOf(client.deactivateUser({ id: adminId })))).toEqual(want);
    });
  });

  it("an ORG_USER_MANAGER still manages plain machine users, from a PAT to their removal", async () => {
    const userId = await machine();
    const as = (method: string, path: string, body?: unknown) => mgmt(method, path, { token: manager.pat, body });
    const pat = await as("POST", `/users/${userId}/pats`, {});
    expect(pat.status).toBe(200);
    expect((await rest(s.url, "GET", "/management/v1/iam", { token: pat.json.token })).status).toBe(200);
    const key = await as("POST", `/users/${userId}/keys`, { type: "KEY_TYPE_JSON" });
    expect(key.status).toBe(200);
    const steps: [string, string, unknown?][] = [
      ["PUT", `/users/${userId}/secret`, {}],
      ["DELETE", `/users/${userId}/secret`],
      ["DELETE", `/users/${userId}/keys/${key.json.keyId}`],
      ["DELETE", `/users/${userId}/pats/${pat.json.tokenId}`],
      ["PUT", `/users/${userId}/machine`, { name: "Renamed", description: "by the manager" }],
      ["PUT", `/users/${userId}/username`, { userName: `ceiling-renamed-${storage}` }],
      ["POST", `/users/${userId}/metadata/color`, { value: b64("blue") }],
      ["DELETE", `/users/${userId}/metadata/color`],
      ["POST", `/users/${userId}/_deactivate`, {}],
      ["POST", `/users/${userId}/_reactivate`, {}],
      ["POST", `/users/${userId}/_lock`, {}],
      ["POST", `/users/${userId}/_unlock`, {}],
      ["DELETE", `/users/${userId}`],
    ];
    for (const [method, path, body] of steps) expect([method, path, (await as(method, path, body)).status]).toEqual([method, path, 200]);
  });

  it("an ORG_OWNER cannot mint for an IAM_OWNER user; an IAM_OWNER can mint for anyone", async () => {
    for (const target of [adminId, iamOwner.userId]) {
      const r = await mgmt("POST", `/users/${target}/pats`, { token: owner.pat, body: {} });
      expect([r.status, r.json]).toEqual([403, ABOVE]);
    }
    for (const [caller, target] of [
      [iamOwner.pat, adminId],
      [s.pat, iamOwner.userId],
      [iamOwner.pat, owner.userId],
      [iamOwner.pat, manager.userId],
    ] as const) {
      const r = await mgmt("POST", `/users/${target}/pats`, { token: caller, body: {} });
      expect(r.status).toBe(200);
    }
  });

  it("deactivating, removing, updating or otherwise changing a higher-privileged user is refused, and it keeps working", async () => {
    const before = await userEvents(owner.userId);
    const steps: [string, string, unknown?][] = [
      ["POST", `/users/${owner.userId}/_deactivate`, {}],
      ["POST", `/users/${owner.userId}/_lock`, {}],
      ["DELETE", `/users/${owner.userId}`],
      ["PUT", `/users/${owner.userId}/machine`, { name: "Taken over", description: "" }],
      ["PUT", `/users/${owner.userId}/username`, { userName: `taken-over-${storage}` }],
      ["POST", `/users/${owner.userId}/metadata/owned`, { value: b64("by the manager") }],
      ["POST", `/users/${owner.userId}/metadata/_bulk`, { metadata: [{ key: "owned", value: b64("x") }] }],
    ];
    for (const [method, path, body] of steps) {
      const r = await mgmt(method, path, { token: manager.pat, body });
      expect([method, path, r.status, r.json]).toEqual([method, path, 403, ABOVE]);
    }
    const grpc = managementClient(s.url, "grpc", manager.pat);
    expect(grpcError(await errorOf(grpc.removeUser({ id: owner.userId }))).code).toBe(Code.PermissionDenied);
    expect(await userEvents(owner.userId)).toBe(before);
    expect((await mgmt("GET", "/orgs/me", { token: owner.pat })).status).toBe(200);
  });

  it("counts a role granted a moment ago", async () => {
    const userId = await machine();
    expect((await mgmt("POST", `/users/${userId}/pats`, { token: manager.pat, body: {} })).status).toBe(200);
    expect((await mgmt("POST", "/orgs/me/members", { body: { userId, roles: ["ORG_OWNER"] } })).status).toBe(200);
    expect((await mgmt("POST", `/users/${userId}/pats`, { token: manager.pat, body: {} })).json).toEqual(ABOVE);
    expect((await mgmt("DELETE", `/orgs/me/members/${userId}`)).status).toBe(200);
    expect((await mgmt("POST", `/users/${userId}/pats`, { token: manager.pat, body: {} })).status).toBe(200);
  });

  it("applies to memberships: no changing a member above oneself, no granting what one does not hold", async () => {
    // An ORG_OWNER cannot remove or demote the org membership of the instance owner.
    expect((await mgmt("DELETE", `/orgs/me/members/${adminId}`, { token: owner.pat })).json).toEqual(ABOVE);
    expect((await mgmt("PUT", `/orgs/me/members/${adminId}`, { token: owner.pat, body: { roles: ["ORG_OWNER_VIEWER"] } })).json).toEqual(ABOVE);
    // IAM_LOGIN_CLIENT holds iam.member.write, but not what IAM_OWNER gives.
    const loginClient = await createPrincipal(s.rt.deps, { orgId, userName: `ceiling-login-client-${storage}`, iamRoles: ["IAM_LOGIN_CLIENT"] });
    const promote = await rest(s.url, "PUT", `/admin/v1/members/${loginClient.userId}`, { token: loginClient.pat, body: { roles: ["IAM_OWNER"] } });
    expect([promote.status, promote.json]).toEqual([403, GRANT]);
    const plain = await machine();
    const grant = await rest(s.url, "POST", "/admin/v1/members", { token: loginClient.pat, body: { userId: plain, roles: ["IAM_OWNER"] } });
    expect([grant.status, grant.json]).toEqual([403, GRANT]);
    expect((await mgmt("GET", "/orgs/me", { token: owner.pat })).status).toBe(200);
    const members = await mgmt("POST", "/orgs/me/members/_search", { body: { queries: [{ userIdQuery: { userId: adminId } }] } });
    expect(members.json.result).toEqual([expect.objectContaining({ userId: adminId, roles: ["ORG_OWNER"] })]);
  });
});

describe("SELF_MANAGEMENT_GLOBAL outside the default org", () => {
  let s: TestServer;
  let defaultOrg: string;
  let orgB: string;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
    defaultOrg = await myOrgId(s);
    orgB = await createOrg(s.rt.deps, "Org B");
  });
  afterAll(async () => {
    await s?.close();
  });

  it("is refused by AddOrgMember as ListOrgMemberRoles does not offer it there (Org-4N8es), over REST and gRPC", async () => {
    const userOfB = await createMachine(s.rt.deps, orgB, "user-of-b");
    const roles = await rest(s.url, "POST", "/management/v1/orgs/members/roles/_search", { token: s.pat, orgId: orgB });
    expect(roles.json.result).not.toContain("SELF_MANAGEMENT_GLOBAL");
    const r = await rest(s.url, "POST", "/management/v1/orgs/me/members", { token: s.pat, orgId: orgB, body: { userId: userOfB, roles: ["SELF_MANAGEMENT_GLOBAL"] } });
    expect([r.status, r.json]).toEqual([400, MEMBER_INVALID]);
    const grpc = managementClient(s.url, "grpc", s.pat, orgB);
    expect(grpcError(await errorOf(grpc.addOrgMember({ userId: userOfB, roles: ["SELF_MANAGEMENT_GLOBAL"] })))).toEqual({
      code: Code.InvalidArgument,
      details: [{ id: "Org-4N8es", message: "Errors.Org.MemberInvalid" }],
    });
    const members = await rest(s.url, "POST", "/management/v1/orgs/me/members/_search", { token: s.pat, orgId: orgB, body: { queries: [{ userIdQuery: { userId: userOfB } }] } });
    expect(members.json.result).toBeUndefined();
    // In the default org it is offered, and accepted.
    const inDefault = await rest(s.url, "POST", "/management/v1/orgs/me/members", { token: s.pat, body: { userId: userOfB, roles: ["SELF_MANAGEMENT_GLOBAL"] } });
    expect(inDefault.status).toBe(200);
  });

  it("so org B's owner cannot give itself the right to create organizations", async () => {
    const ownerOfB = await createPrincipal(s.rt.deps, { orgId: orgB, userName: "owner-of-b", orgRoles: [{ orgId: orgB, roles: ["ORG_OWNER"] }] });
    const other = await createMachine(s.rt.deps, orgB, "helper-of-b");
    const r = await rest(s.url, "POST", "/management/v1/orgs/me/members", { token: ownerOfB.pat, body: { userId: other, roles: ["SELF_MANAGEMENT_GLOBAL"] } });
    expect([r.status, r.json]).toEqual([400, MEMBER_INVALID]);
    const self = await rest(s.url, "PUT", `/management/v1/orgs/me/members/${ownerOfB.userId}`, { token: ownerOfB.pat, body: { roles: ["ORG_OWNER", "SELF_MANAGEMENT_GLOBAL"] } });
    expect(self.json).toEqual(zitadelError(3, "INST-m9fG8", "Errors.Org.MemberInvalid"));
    expect((await rest(s.url, "POST", "/management/v1/orgs", { token: ownerOfB.pat, body: { name: "Not Allowed" } })).json).toEqual(NO_PERMISSION);
    expect(defaultOrg).not.toBe(orgB);
  });
});
