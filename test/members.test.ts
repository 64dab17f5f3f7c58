import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectError, Code } from "@connectrpc/connect";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";
import { managementClient, rest } from "./helpers/clients.js";
import { ISO, zitadelError } from "./helpers/fixtures.js";
import { createMachine, createOrg, createPrincipal } from "./helpers/principals.js";

const ORG_ROLES = [
  "ORG_OWNER",
  "ORG_USER_MANAGER",
  "ORG_OWNER_VIEWER",
  "ORG_SETTINGS_MANAGER",
  "ORG_USER_PERMISSION_EDITOR",
  "ORG_PROJECT_PERMISSION_EDITOR",
  "ORG_PROJECT_CREATOR",
  "ORG_ADMIN_IMPERSONATOR",
  "ORG_END_USER_IMPERSONATOR",
  "ORG_USER_SELF_MANAGER",
];
const IAM_ROLES = ["IAM_OWNER", "IAM_OWNER_VIEWER", "IAM_ORG_MANAGER", "IAM_USER_MANAGER", "IAM_ADMIN_IMPERSONATOR", "IAM_END_USER_IMPERSONATOR", "IAM_LOGIN_CLIENT"];
const NO_MEMBERSHIP = zitadelError(5, "AUTHZ-cdgFk", "membership not found");
const NO_PERMISSION = zitadelError(7, "AUTH-5mWD2", "No matching permissions found");

describe.each<Storage>(["pglite", "postgres"])("org and instance members (%s)", (storage) => {
  let s: TestServer;
  let orgId: string;
  let instanceId: string;
  const mgmt = (method: string, path: string, opts: { token?: string; orgId?: string; body?: unknown } = {}) =>
    rest(s.url, method, `/management/v1${path}`, { token: s.pat, ...opts });
  const admin = (method: string, path: string, opts: { token?: string; orgId?: string; body?: unknown } = {}) =>
    rest(s.url, method, `/admin/v1${path}`, { token: s.pat, ...opts });
  let n = 0;
  const machine = (org = orgId) => createMachine(s.rt.deps, org, `member-${storage}-${++n}`);

  beforeAll(async () => {
    s = await startTestServer({ storage });
    instanceId = s.rt.deps.instanceId;
    orgId = (await mgmt("GET", "/orgs/me")).json.org.id;
  });
  afterAll(async () => {
    await s?.close();
  });

  describe("ListOrgMemberRoles", () => {
    it("answers exactly ZITADEL's org roles, with SELF_MANAGEMENT_GLOBAL in the default org only", async () => {
      const r = await mgmt("POST", "/orgs/members/roles/_search");
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ result: [...ORG_ROLES, "SELF_MANAGEMENT_GLOBAL"] });
      const other = await createOrg(s.rt.deps, `Roles Org ${storage}`);
      expect((await mgmt("POST", "/orgs/members/roles/_search", { orgId: other })).json).toEqual({ result: ORG_ROLES });
    });
  });

  describe("AddOrgMember", () => {
    it("adds a member on the org aggregate", async () => {
      const userId = await machine();
      const r = await mgmt("POST", "/orgs/me/members", { body: { userId, roles: ORG_ROLES } });
      expect(r.status).toBe(200);
      expect(r.json.details).toEqual({ sequence: expect.stringMatching(/^\d+$/), creationDate: expect.stringMatching(ISO), resourceOwner: orgId });
      const events = await s.rt.deps.store.load(instanceId, "org", orgId);
      expect(events.at(-1)).toMatchObject({ type: "org.member.added", payload: { userId, roles: ORG_ROLES }, sequence: Number(r.json.details.sequence) });
    });

    it("validates roles and the user as ZITADEL does", async () => {
      const userId = await machine();
      const cases: [unknown, number, object][] = [
        [[], 400, zitadelError(3, "ORG-4Mlfs", "Errors.Invalid.Argument")],
        [["FOO", "BAR"], 400, zitadelError(3, "Org-4N8es", "Errors.Org.MemberInvalid")],
        [["IAM_OWNER"], 400, zitadelError(3, "Org-4N8es", "Errors.Org.MemberInvalid")],
        [["ORG_OWNER", "SELF_MANAGEMENT_GLOBAL"], 400, zitadelError(3, "Org-4N8es", "Errors.Org.MemberInvalid")],
      ];
      for (const [roles, status, body] of cases) {
        const r = await mgmt("POST", "/orgs/me/members", { body: { userId, roles } });
        expect([roles, r.status, r.json]).toEqual([roles, status, body]);
      }
      const unknown = await mgmt("POST", "/orgs/me/members", { body: { userId: "4711", roles: ["ORG_OWNER"] } });
      expect(unknown.status).toBe(400);
      expect(unknown.json).toEqual(zitadelError(9, "ORG-GoXOn", "User could not be found"));
      const missing = await mgmt("POST", "/orgs/me/members", { body: { roles: ["ORG_OWNER"] } });
      expect(missing.json).toEqual({ code: 3, message: "invalid AddOrgMemberRequest.UserId: value length must be between 1 and 200 runes, inclusive" });

      expect((await mgmt("POST", "/orgs/me/members", { body: { userId, roles: ["SELF_MANAGEMENT_GLOBAL"] } })).status).toBe(200);
      const dup = await mgmt("POST", "/orgs/me/members", { body: { userId, roles: ["ORG_OWNER"] } });
      expect(dup.status).toBe(409);
      expect(dup.json).toEqual(zitadelError(6, "ORG-poWwe", "Errors.Org.Member.AlreadyExists"));
    });

    it("accepts a user of another org of the instance", async () => {
      const other = await createOrg(s.rt.deps, `Foreign Users ${storage}`);
      const foreign = await machine(other);
      const r = await mgmt("POST", "/orgs/me/members", { body: { userId: foreign, roles: ["ORG_OWNER_VIEWER"] } });
      expect(r.status).toBe(200);
      const list = await mgmt("POST", "/orgs/me/members/_search", { body: { queries: [{ userIdQuery: { userId: foreign } }] } });
      expect(list.json.result).toEqual([expect.objectContaining({ userId: foreign, userResourceOwner: other, roles: ["ORG_OWNER_VIEWER"] })]);
    });
  });

  describe("ListOrgMembers", () => {
    it("fills the member from the user, filters, pages, and never matches human-only queries", async () => {
      const org = await createOrg(s.rt.deps, `Listing Org ${storage}`);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = await machine(org);
        ids.push(id);
        await mgmt("POST", "/orgs/me/members", { orgId: org, body: { userId: id, roles: ["ORG_USER_MANAGER"] } });
      }
      const all = await mgmt("POST", "/orgs/me/members/_search", { orgId: org, body: {} });
      expect(all.status).toBe(200);
      // The org's creator ("SYSTEM" in this helper) is no user and is not listed.
      expect(all.json.result.map((m: { userId: string }) => m.userId)).toEqual(ids);
      expect(all.json.details).toEqual({ totalResult: "3", processedSequence: expect.stringMatching(/^\d+$/), viewTimestamp: expect.stringMatching(ISO) });
      const first = all.json.result[0];
      expect(first).toEqual({
        userId: ids[0],
        details: { sequence: expect.stringMatching(/^\d+$/), creationDate: expect.stringMatching(ISO), changeDate: expect.stringMatching(ISO), resourceOwner: org },
        roles: ["ORG_USER_MANAGER"],
        preferredLoginName: expect.stringMatching(/^member-/),
        displayName: expect.stringMatching(/^Name of member-/),
        userType: "TYPE_MACHINE",
        userResourceOwner: org,
      });

      const byId = await mgmt("POST", "/orgs/me/members/_search", { orgId: org, body: { queries: [{ userIdQuery: { userId: ids[1] } }] } });
      expect(byId.json.result.map((m: { userId: string }) => m.userId)).toEqual([ids[1]]);
      const page = await mgmt("POST", "/orgs/me/members/_search", { orgId: org, body: { query: { offset: "1", limit: 1 } } });
      expect(page.json.result.map((m: { userId: string }) => m.userId)).toEqual([ids[1]]);
      expect(page.json.details.totalResult).toBe("3");
      const beyond = await mgmt("POST", "/orgs/me/members/_search", { orgId: org, body: { query: { offset: "5" } } });
      expect(beyond.json.result).toBeUndefined();
      expect(beyond.json.details.totalResult).toBe("3");
      for (const q of [{ emailQuery: { email: "" , method: "TEXT_QUERY_METHOD_CONTAINS" } }, { firstNameQuery: { firstName: "Name" } }, { lastNameQuery: { lastName: "" } }]) {
        const r = await mgmt("POST", "/orgs/me/members/_search", { orgId: org, body: { queries: [q] } });
        expect(r.status).toBe(200);
        expect(r.json.result).toBeUndefined();
        expect(r.json.details.totalResult).toBeUndefined();
      }
      const bad = await mgmt("POST", "/orgs/me/members/_search", { orgId: org, body: { queries: [{}] } });
      expect(bad.status).toBe(400);

      // A removed user's membership ends with it (cascade).
      expect((await mgmt("DELETE", `/users/${ids[0]}`, { orgId: org })).status).toBe(200);
      const after = await mgmt("POST", "/orgs/me/members/_search", { orgId: org, body: {} });
      expect(after.json.result.map((m: { userId: string }) => m.userId)).toEqual([ids[1], ids[2]]);
    });
  });

  describe("UpdateOrgMember and RemoveOrgMember", () => {
    it("replace roles, no-op on the same list, validate as ZITADEL does", async () => {
      const userId = await machine();
      const added = await mgmt("POST", "/orgs/me/members", { body: { userId, roles: ["ORG_OWNER"] } });
      const cases: [unknown, number, object][] = [
        [[], 400, zitadelError(3, "Org-LiaZi", "Errors.Org.MemberInvalid")],
        [["FOO"], 400, zitadelError(3, "INST-m9fG8", "Errors.Org.MemberInvalid")],
        [["IAM_OWNER"], 400, zitadelError(3, "INST-m9fG8", "Errors.Org.MemberInvalid")],
        [["SELF_MANAGEMENT_GLOBAL"], 400, zitadelError(3, "INST-m9fG8", "Errors.Org.MemberInvalid")],
      ];
      for (const [roles, status, body] of cases) {
        const r = await mgmt("PUT", `/orgs/me/members/${userId}`, { body: { roles } });
        expect([roles, r.status, r.json]).toEqual([roles, status, body]);
      }
      const notMember = await mgmt("PUT", "/orgs/me/members/4711", { body: { roles: ["ORG_OWNER"] } });
      expect(notMember.status).toBe(404);
      expect(notMember.json).toEqual(zitadelError(5, "Org-D8JxR", "Errors.NotFound"));

      const same = await mgmt("PUT", `/orgs/me/members/${userId}`, { body: { roles: ["ORG_OWNER"] } });
      expect(same.status).toBe(200);
      expect(same.json.details).toEqual({ sequence: added.json.details.sequence, changeDate: added.json.details.creationDate, resourceOwner: orgId });

      const changed = await mgmt("PUT", `/orgs/me/members/${userId}`, { body: { roles: ["ORG_OWNER_VIEWER", "ORG_USER_MANAGER"] } });
      expect(changed.status).toBe(200);
      expect(changed.json.details).toEqual({ sequence: expect.stringMatching(/^\d+$/), changeDate: expect.stringMatching(ISO), resourceOwner: orgId });
      expect(Number(changed.json.details.sequence)).toBeGreaterThan(Number(added.json.details.sequence));
      const listed = await mgmt("POST", "/orgs/me/members/_search", { body: { queries: [{ userIdQuery: { userId } }] } });
      expect(listed.json.result[0].roles).toEqual(["ORG_OWNER_VIEWER", "ORG_USER_MANAGER"]);

      const removed = await mgmt("DELETE", `/orgs/me/members/${userId}`);
      expect(removed.status).toBe(200);
      expect(removed.json.details).toEqual({ sequence: expect.stringMatching(/^\d+$/), changeDate: expect.stringMatching(ISO), resourceOwner: orgId });
      // Again: success without an event, reporting the last member event of that user.
      const again = await mgmt("DELETE", `/orgs/me/members/${userId}`);
      expect(again.status).toBe(200);
      expect(again.json.details).toEqual(removed.json.details);
      const never = await mgmt("DELETE", "/orgs/me/members/4711");
      expect(never.json).toEqual({ details: { resourceOwner: orgId } });
      // Once removed, it can be added again.
      expect((await mgmt("POST", "/orgs/me/members", { body: { userId, roles: ["ORG_OWNER"] } })).status).toBe(200);
    });
  });

  describe("a membership change takes effect on the very next call", () => {
    it("over REST", async () => {
      const p = await createPrincipal(s.rt.deps, { orgId, userName: `next-call-${storage}`, orgRoles: [{ orgId, roles: ["ORG_USER_MANAGER"] }] });
      const list = () => mgmt("POST", "/orgs/me/members/_search", { token: p.pat, body: {} });
      expect((await list()).json).toEqual(NO_PERMISSION);
      expect((await mgmt("PUT", `/orgs/me/members/${p.userId}`, { body: { roles: ["ORG_OWNER_VIEWER"] } })).status).toBe(200);
      expect((await list()).status).toBe(200);
      expect((await mgmt("DELETE", `/orgs/me/members/${p.userId}`)).status).toBe(200);
      const gone = await list();
      expect(gone.status).toBe(404);
      expect(gone.json).toEqual(NO_MEMBERSHIP);
      // Instance membership applies to every org, and ends as promptly.
      expect((await admin("POST", "/members", { body: { userId: p.userId, roles: ["IAM_OWNER_VIEWER"] } })).status).toBe(200);
      expect((await list()).status).toBe(200);
      expect((await admin("POST", "/orgs/_search", { token: p.pat, body: {} })).status).toBe(200);
      expect((await admin("DELETE", `/members/${p.userId}`)).status).toBe(200);
      expect((await list()).json).toEqual(NO_MEMBERSHIP);
    });

    it("over gRPC with the official client", async () => {
      const p = await createPrincipal(s.rt.deps, { orgId, userName: `next-call-grpc-${storage}`, orgRoles: [{ orgId, roles: ["ORG_OWNER"] }] });
      const client = managementClient(s.url, "grpc", p.pat);
      const r = await client.listOrgMembers({});
      expect(r.result.some((m) => m.userId === p.userId)).toBe(true);
      expect((await mgmt("DELETE", `/orgs/me/members/${p.userId}`)).status).toBe(200);
      const err = await client.listOrgMembers({}).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(err?.code).toBe(Code.NotFound);
      expect(err?.findDetails(ErrorDetailSchema)).toEqual([expect.objectContaining({ id: "AUTHZ-cdgFk" })]);
    });
  });

  describe("IAM members (admin API)", () => {
    it("ListIAMMemberRoles answers exactly ZITADEL's instance roles", async () => {
      const r = await admin("POST", "/members/roles/_search");
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ roles: IAM_ROLES, details: { totalResult: String(IAM_ROLES.length), viewTimestamp: expect.stringMatching(ISO) } });
    });

    it("add, list, update and remove, with ZITADEL's errors", async () => {
      const userId = await machine();
      const add = await admin("POST", "/members", { body: { userId, roles: IAM_ROLES } });
      expect(add.status).toBe(200);
      expect(add.json.details).toEqual({ sequence: expect.stringMatching(/^\d+$/), creationDate: expect.stringMatching(ISO), resourceOwner: instanceId });
      const events = await s.rt.deps.store.load(instanceId, "instance", instanceId);
      expect(events.at(-1)).toMatchObject({ type: "instance.member.added", payload: { userId, roles: IAM_ROLES } });

      const dup = await admin("POST", "/members", { body: { userId, roles: ["IAM_OWNER"] } });
      expect(dup.status).toBe(409);
      expect(dup.json).toEqual(zitadelError(6, "INSTA-pFDwe", "Errors.Instance.Member.AlreadyExists"));
      for (const roles of [["FOO", "BAR"], ["ORG_OWNER"]]) {
        const bad = await admin("POST", "/members", { body: { userId: await machine(), roles } });
        expect(bad.status).toBe(400);
        expect(bad.json).toEqual(zitadelError(3, "INSTANCE-4m0fS", "Errors.IAM.MemberInvalid"));
      }
      const unknown = await admin("POST", "/members", { body: { userId: "4711", roles: ["IAM_OWNER"] } });
      expect(unknown.status).toBe(400);
      expect(unknown.json).toEqual(zitadelError(9, "INSTA-GSXOn", "User could not be found"));

      const listed = await admin("POST", "/members/_search", { body: { queries: [{ userIdQuery: { userId } }] } });
      expect(listed.status).toBe(200);
      expect(listed.json.result).toEqual([
        expect.objectContaining({ userId, roles: IAM_ROLES, userType: "TYPE_MACHINE", userResourceOwner: orgId, details: expect.objectContaining({ resourceOwner: instanceId }) }),
      ]);
      const sorted = await admin("POST", "/members/_search", { body: { sortingColumn: "MEMBER_FIELD_NAME_USER_ID", query: { asc: true } } });
      const sortedIds = sorted.json.result.map((m: { userId: string }) => m.userId) as string[];
      expect(sortedIds).toEqual([...sortedIds].sort());
      expect(sortedIds).toContain(userId);

      const empty = await admin("PUT", `/members/${userId}`, { body: { roles: [] } });
      expect(empty.json).toEqual(zitadelError(3, "INSTANCE-LiaZi", "Errors.IAM.MemberInvalid"));
      const orgRole = await admin("PUT", `/members/${userId}`, { body: { roles: ["ORG_OWNER"] } });
      expect(orgRole.json).toEqual(zitadelError(3, "INSTANCE-3m9fs", "Errors.IAM.MemberInvalid"));
      const notMember = await admin("PUT", "/members/4711", { body: { roles: ["IAM_OWNER"] } });
      expect(notMember.status).toBe(404);
      expect(notMember.json).toEqual(zitadelError(5, "INSTANCE-D8JxR", "Errors.NotFound"));
      const same = await admin("PUT", `/members/${userId}`, { body: { roles: IAM_ROLES } });
      expect(same.json.details).toEqual({ sequence: add.json.details.sequence, changeDate: add.json.details.creationDate, resourceOwner: instanceId });
      const changed = await admin("PUT", `/members/${userId}`, { body: { roles: ["IAM_OWNER_VIEWER"] } });
      expect(changed.json.details).toEqual({ sequence: expect.stringMatching(/^\d+$/), changeDate: expect.stringMatching(ISO), resourceOwner: instanceId });

      const removed = await admin("DELETE", `/members/${userId}`);
      expect(removed.json.details).toEqual({ sequence: expect.stringMatching(/^\d+$/), changeDate: expect.stringMatching(ISO), resourceOwner: instanceId });
      expect((await admin("DELETE", `/members/${userId}`)).json).toEqual(removed.json);
      expect((await admin("DELETE", "/members/4711")).json).toEqual({ details: { resourceOwner: instanceId } });
      const gone = await admin("POST", "/members/_search", { body: { queries: [{ userIdQuery: { userId } }] } });
      expect(gone.json.result).toBeUndefined();
    });

    it("is refused to an ORG_OWNER (no iam.member.* permission)", async () => {
      const owner = await createPrincipal(s.rt.deps, { orgId, userName: `iam-refused-${storage}`, orgRoles: [{ orgId, roles: ["ORG_OWNER"] }] });
      for (const [method, path, body] of [
        ["POST", "/members/_search", {}],
        ["POST", "/members", { userId: owner.userId, roles: ["IAM_OWNER"] }],
        ["DELETE", `/members/${owner.userId}`, undefined],
      ] as const) {
        const r = await admin(method, path, { token: owner.pat, body });
        expect(r.status).toBe(403);
        expect(r.json).toEqual(NO_PERMISSION);
      }
    });
  });
});
