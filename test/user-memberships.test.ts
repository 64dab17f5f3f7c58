import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";
import { errorOf, managementClient, rest } from "./helpers/clients.js";
import { ISO, zitadelError } from "./helpers/fixtures.js";
import { createMachine, createOrg, createPrincipal } from "./helpers/principals.js";

/** ListUserMemberships (POST /management/v1/users/{user_id}/memberships/_search) over REST and gRPC. */
describe.each<Storage>(["pglite", "postgres"])("ListUserMemberships (%s)", (storage) => {
  let s: TestServer;
  let orgId: string;
  let orgName: string;
  let otherOrg: string;
  let instanceId: string;
  let instanceName: string;
  const mgmt = (method: string, path: string, opts: { token?: string; orgId?: string; body?: unknown } = {}) =>
    rest(s.url, method, `/management/v1${path}`, { token: s.pat, ...opts });
  const memberships = (userId: string, body: unknown = {}, opts: { token?: string; orgId?: string } = {}) =>
    mgmt("POST", `/users/${userId}/memberships/_search`, { body, ...opts });
  let n = 0;
  const machine = (org = orgId) => createMachine(s.rt.deps, org, `membership-${storage}-${++n}`);
  const project = async (name: string, org?: string) => (await mgmt("POST", "/projects", { body: { name }, orgId: org })).json.id as string;

  /** A machine of the own org: ORG_USER_MANAGER, PROJECT_OWNER_VIEWER of one project, IAM_OWNER_VIEWER, in that order. */
  async function memberEverywhere() {
    const userId = await machine();
    const projectId = await project(`Memberships ${storage} ${n}`);
    expect((await mgmt("POST", "/orgs/me/members", { body: { userId, roles: ["ORG_USER_MANAGER"] } })).status).toBe(200);
    expect((await mgmt("POST", `/projects/${projectId}/members`, { body: { userId, roles: ["PROJECT_OWNER_VIEWER"] } })).status).toBe(200);
    expect((await rest(s.url, "POST", "/admin/v1/members", { token: s.pat, body: { userId, roles: ["IAM_OWNER_VIEWER"] } })).status).toBe(200);
    return { userId, projectId };
  }

  beforeAll(async () => {
    s = await startTestServer({ storage });
    instanceId = s.rt.deps.instanceId;
    const me = (await mgmt("GET", "/orgs/me")).json.org;
    orgId = me.id;
    orgName = me.name;
    instanceName = (await s.rt.deps.cache.get(instanceId, "instance", instanceId)).name;
    otherOrg = await createOrg(s.rt.deps, `Memberships Other ${storage}`);
  });
  afterAll(async () => {
    await s?.close();
  });

  it("REST: the instance, org and project memberships with roles, names and details", async () => {
    const { userId, projectId } = await memberEverywhere();
    // Memberships the caller's org does not own are not listed: another org and its project.
    expect((await mgmt("POST", "/orgs/me/members", { orgId: otherOrg, body: { userId, roles: ["ORG_OWNER_VIEWER"] } })).status).toBe(200);
    const foreignProject = await project(`Foreign ${storage}`, otherOrg);
    expect((await mgmt("POST", `/projects/${foreignProject}/members`, { orgId: otherOrg, body: { userId, roles: ["PROJECT_OWNER"] } })).status).toBe(200);

    const r = await memberships(userId);
    expect(r.status).toBe(200);
    const details = (resourceOwner: string) => ({ sequence: expect.stringMatching(/^\d+$/), creationDate: expect.stringMatching(ISO), changeDate: expect.stringMatching(ISO), resourceOwner });
    expect(r.json).toEqual({
      details: { totalResult: "3", processedSequence: expect.stringMatching(/^\d+$/), viewTimestamp: expect.stringMatching(ISO) },
      result: [
        { userId, details: details(orgId), roles: ["ORG_USER_MANAGER"], displayName: orgName, orgId },
        { userId, details: details(orgId), roles: ["PROJECT_OWNER_VIEWER"], displayName: `Memberships ${storage} ${n}`, projectId },
        { userId, details: details(instanceId), roles: ["IAM_OWNER_VIEWER"], displayName: instanceName, iam: true },
      ],
    });
    // Asked in the other org, where the user does not belong: not found.
    expect((await memberships(userId, {}, { orgId: otherOrg })).json).toEqual(zitadelError(5, "MANAG-fpo4B", "User could not be found"));
  });

  it("filters by type (queries AND-ed) and pages with the total", async () => {
    const { userId, projectId } = await memberEverywhere();
    const kinds = async (queries: unknown[], query?: unknown) => {
      const r = await memberships(userId, { queries, query });
      expect(r.status).toBe(200);
      // protojson omits a zero total.
      return { total: r.json.details.totalResult ?? "0", kinds: (r.json.result ?? []).map((m: Record<string, unknown>) => ("iam" in m ? "iam" : "orgId" in m ? "org" : "project")) };
    };
    expect(await kinds([{ iamQuery: { iam: true } }])).toEqual({ total: "1", kinds: ["iam"] });
    expect(await kinds([{ orgQuery: { orgId } }])).toEqual({ total: "1", kinds: ["org"] });
    expect(await kinds([{ orgQuery: { orgId: otherOrg } }])).toEqual({ total: "0", kinds: [] });
    expect(await kinds([{ projectQuery: { projectId } }])).toEqual({ total: "1", kinds: ["project"] });
    expect(await kinds([{ projectQuery: { projectId: "4711" } }])).toEqual({ total: "0", kinds: [] });
    expect(await kinds([{ projectGrantQuery: { projectGrantId: "4711" } }])).toEqual({ total: "0", kinds: [] });
    expect(await kinds([{ orgQuery: { orgId } }, { iamQuery: { iam: true } }])).toEqual({ total: "0", kinds: [] });

    expect(await kinds([], { limit: 1 })).toEqual({ total: "3", kinds: ["org"] });
    expect(await kinds([], { offset: "1", limit: 1 })).toEqual({ total: "3", kinds: ["project"] });
    expect(await kinds([], { offset: "2", limit: 5 })).toEqual({ total: "3", kinds: ["iam"] });
    expect(await kinds([], { offset: "7" })).toEqual({ total: "3", kinds: [] });
    expect(await kinds([{ iamQuery: { iam: true } }], { limit: 1, asc: true })).toEqual({ total: "1", kinds: ["iam"] });

    // An empty query is invalid, as the proto's oneof is required.
    expect((await memberships(userId, { queries: [{}] })).status).toBe(400);
  });

  it("a user the caller's org does not hold is not found; a user without memberships has none", async () => {
    const foreign = await machine(otherOrg);
    expect((await mgmt("POST", "/orgs/me/members", { body: { userId: foreign, roles: ["ORG_OWNER_VIEWER"] } })).status).toBe(200);
    const r = await memberships(foreign);
    expect([r.status, r.json]).toEqual([404, zitadelError(5, "MANAG-fpo4B", "User could not be found")]);
    const unknown = await memberships("4711");
    expect([unknown.status, unknown.json]).toEqual([404, zitadelError(5, "QUERY-Dfbg2", "User could not be found")]);
    const none = await memberships(await machine());
    expect([none.status, none.json.details.totalResult, none.json.result]).toEqual([200, undefined, undefined]);
  });

  it("is read with user.membership.read: an ORG_OWNER_VIEWER may, a member without it may not", async () => {
    const { userId } = await memberEverywhere();
    const viewer = await createPrincipal(s.rt.deps, { orgId, userName: `viewer-${storage}`, orgRoles: [{ orgId, roles: ["ORG_OWNER_VIEWER"] }] });
    expect((await memberships(userId, {}, { token: viewer.pat })).json.details.totalResult).toBe("3");
    const settings = await createPrincipal(s.rt.deps, { orgId, userName: `settings-${storage}`, orgRoles: [{ orgId, roles: ["ORG_SETTINGS_MANAGER"] }] });
    expect((await memberships(userId, {}, { token: settings.pat })).json).toEqual(zitadelError(7, "AUTH-5mWD2", "No matching permissions found"));
  });

  it("gRPC with the official client: removing a membership removes it from the list", async () => {
    const { userId, projectId } = await memberEverywhere();
    const client = managementClient(s.url, "grpc", s.pat);
    const r = await client.listUserMemberships({ userId });
    expect(r.details?.totalResult).toBe(3n);
    expect(r.result.map((m) => [m.type.case, m.type.value, m.roles])).toEqual([
      ["orgId", orgId, ["ORG_USER_MANAGER"]],
      ["projectId", projectId, ["PROJECT_OWNER_VIEWER"]],
      ["iam", true, ["IAM_OWNER_VIEWER"]],
    ]);

    await client.removeProjectMember({ projectId, userId });
    const afterProject = await client.listUserMemberships({ userId });
    expect(afterProject.result.map((m) => m.type.case)).toEqual(["orgId", "iam"]);
    await client.removeOrgMember({ userId });
    expect((await rest(s.url, "DELETE", `/admin/v1/members/${userId}`, { token: s.pat })).status).toBe(200);
    const after = await client.listUserMemberships({ userId, queries: [] });
    expect([after.details?.totalResult, after.result]).toEqual([0n, []]);

    // A removed project takes its memberships along.
    const again = await memberEverywhere();
    await client.removeProject({ id: again.projectId });
    expect((await client.listUserMemberships({ userId: again.userId })).result.map((m) => m.type.case)).toEqual(["orgId", "iam"]);

    const err = await errorOf(client.listUserMemberships({ userId: "4711" }));
    expect([err?.code, err?.rawMessage]).toEqual([Code.NotFound, "User could not be found (QUERY-Dfbg2)"]);
  });
});
