import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { addProject } from "../src/app/projects/projects.js";
import { addProjectMember } from "../src/app/projects/project-members.js";
import { removeOrg } from "../src/app/orgs/orgs.js";
import { rebuildProjections } from "../src/store/rebuild.js";
import { errorOf, managementClient, rest } from "./helpers/clients.js";
import { ISO, zitadelError } from "./helpers/fixtures.js";
import { createMachine, createOrg, createPrincipal, systemCaller } from "./helpers/principals.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";

const NO_MEMBERSHIP = zitadelError(5, "AUTHZ-cdgFk", "membership not found");
const NO_PERMISSION = zitadelError(7, "AUTH-5mWD2", "No matching permissions found");
const settings = { projectRoleAssertion: false, projectRoleCheck: false, hasProjectCheck: false, privateLabelingSetting: 0 };

describe.each<Storage>(["pglite", "postgres"])("projects, roles and project members (%s)", (storage) => {
  let s: TestServer;
  let orgId: string;
  const mgmt = (method: string, path: string, opts: { token?: string; orgId?: string; body?: unknown } = {}) =>
    rest(s.url, method, `/management/v1${path}`, { token: s.pat, ...opts });
  let n = 0;
  const unique = (what: string) => `${what}-${storage}-${++n}`;
  const newProject = async (org = orgId) => (await addProject(s.rt.deps, systemCaller(org), { name: unique("P"), ...settings })).id;

  beforeAll(async () => {
    s = await startTestServer({ storage });
    orgId = (await mgmt("GET", "/orgs/me")).json.org.id;
  });
  afterAll(async () => {
    await s?.close();
  });

  it("REST: the project lifecycle with its flags, queries and change history", async () => {
    const name = unique("Billing");
    const add = await mgmt("POST", "/projects", { body: { name, projectRoleAssertion: true, hasProjectCheck: true, privateLabelingSetting: "PRIVATE_LABELING_SETTING_ALLOW_LOGIN_USER_RESOURCE_OWNER_POLICY" } });
    expect(add.status).toBe(200);
    expect(add.json).toEqual({ id: expect.stringMatching(/^\d+$/), details: { sequence: "1", creationDate: expect.stringMatching(ISO), resourceOwner: orgId } });
    const id = add.json.id as string;
    const get = await mgmt("GET", `/projects/${id}`);
    expect(get.json.project).toEqual({
      id,
      details: { sequence: "1", creationDate: expect.stringMatching(ISO), changeDate: expect.stringMatching(ISO), resourceOwner: orgId },
      name,
      state: "PROJECT_STATE_ACTIVE",
      projectRoleAssertion: true,
      hasProjectCheck: true,
      privateLabelingSetting: "PRIVATE_LABELING_SETTING_ALLOW_LOGIN_USER_RESOURCE_OWNER_POLICY",
    });
    const dup = await mgmt("POST", "/projects", { body: { name } });
    expect([dup.status, dup.json]).toEqual([409, zitadelError(6, "V3-DKcYh", "Errors.Project.AlreadyExists")]);

    const list = await mgmt("POST", "/projects/_search", { body: { queries: [{ nameQuery: { name, method: "TEXT_QUERY_METHOD_EQUALS" } }] } });
    expect(list.json.result.map((p: { id: string }) => p.id)).toEqual([id]);
    expect(list.json.details.totalResult).toBe("1");
    const other = await mgmt("POST", "/projects/_search", { body: { queries: [{ projectResourceOwnerQuery: { resourceOwner: "elsewhere" } }] } });
    expect(other.json.result ?? []).toEqual([]);

    const upd = await mgmt("PUT", `/projects/${id}`, { body: { name: name + "-2", projectRoleCheck: true } });
    expect(upd.status).toBe(200);
    const same = await mgmt("PUT", `/projects/${id}`, { body: { name: name + "-2", projectRoleCheck: true } });
    expect([same.status, same.json]).toEqual([400, zitadelError(9, "COMMAND-2M0fs", "Errors.NoChangesFound")]);
    expect((await mgmt("POST", `/projects/${id}/_deactivate`, { body: {} })).status).toBe(200);
    expect((await mgmt("GET", `/projects/${id}`)).json.project).toMatchObject({ state: "PROJECT_STATE_INACTIVE", name: name + "-2", projectRoleCheck: true });
    // UpdateProject replaces every flag: the assertion flag went back to false (protojson leaves it out).
    expect((await mgmt("GET", `/projects/${id}`)).json.project.projectRoleAssertion).toBeUndefined();
    const again = await mgmt("POST", `/projects/${id}/_deactivate`, { body: {} });
    expect([again.status, again.json]).toEqual([400, zitadelError(9, "COMMAND-mki55", "Errors.Project.NotActive")]);
    expect((await mgmt("POST", `/projects/${id}/_reactivate`, { body: {} })).status).toBe(200);

    // The route has no body (google.api.http body ""): the query goes in the URL.
    const changes = await mgmt("POST", `/projects/${id}/changes/_search?query.asc=true`);
    expect(changes.json.result.map((c: { eventType: { key: string } }) => c.eventType.key)).toEqual([
      "EventTypes.project.added",
      "EventTypes.project.member.added",
      "EventTypes.project.changed",
      "EventTypes.project.deactivated",
      "EventTypes.project.reactivated",
    ]);

    const rm = await mgmt("DELETE", `/projects/${id}`);
    expect(rm.status).toBe(200);
    expect([(await mgmt("GET", `/projects/${id}`)).json]).toEqual([zitadelError(5, "QUERY-fk2fs", "Errors.Project.NotFound")]);
    const updRemoved = await mgmt("PUT", `/projects/${id}`, { body: { name: "x" } });
    expect([updRemoved.status, updRemoved.json]).toEqual([404, zitadelError(5, "COMMAND-3M9sd", "Errors.Project.NotFound")]);
    const roleOnRemoved = await mgmt("POST", `/projects/${id}/roles`, { body: { roleKey: "a", displayName: "A" } });
    expect([roleOnRemoved.status, roleOnRemoved.json]).toEqual([400, zitadelError(9, "COMMAND-4M0fs", "Errors.Project.NotFound")]);
    // The name is free again.
    expect((await mgmt("POST", "/projects", { body: { name: name + "-2" } })).status).toBe(200);
    const unknown = await mgmt("DELETE", "/projects/4711");
    expect([unknown.status, unknown.json]).toEqual([404, zitadelError(5, "COMMAND-3M9sd", "Errors.Project.NotFound")]);
  });

  it("REST: roles — bulk add, queries, update, remove, duplicates and limits, nothing half-written", async () => {
    const id = await newProject();
    const bulk = await mgmt("POST", `/projects/${id}/roles/_bulk`, {
      body: { roles: [{ key: "invoices.read", displayName: "Read invoices", group: "invoices" }, { key: "invoices.write", displayName: "Write invoices" }] },
    });
    expect(bulk.status).toBe(200);
    const dupInBulk = await mgmt("POST", `/projects/${id}/roles/_bulk`, { body: { roles: [{ key: "new", displayName: "N" }, { key: "invoices.read", displayName: "R" }] } });
    expect([dupInBulk.status, dupInBulk.json]).toEqual([409, zitadelError(6, "V3-DKcYh", "Errors.Project.Role.AlreadyExists")]);
    const dup = await mgmt("POST", `/projects/${id}/roles`, { body: { roleKey: "invoices.read", displayName: "Again" } });
    expect(dup.status).toBe(409);
    const tooLong = await mgmt("POST", `/projects/${id}/roles`, { body: { roleKey: "k".repeat(201), displayName: "X" } });
    expect(tooLong.status).toBe(400);
    const all = await mgmt("POST", `/projects/${id}/roles/_search`, { body: {} });
    expect(all.json.result).toEqual([
      { key: "invoices.read", details: expect.objectContaining({ resourceOwner: orgId }), displayName: "Read invoices", group: "invoices" },
      { key: "invoices.write", details: expect.objectContaining({ resourceOwner: orgId }), displayName: "Write invoices" },
    ]);
    const byKey = await mgmt("POST", `/projects/${id}/roles/_search`, { body: { queries: [{ keyQuery: { key: "write", method: "TEXT_QUERY_METHOD_ENDS_WITH" } }] } });
    expect(byKey.json.result.map((r: { key: string }) => r.key)).toEqual(["invoices.write"]);
    const byName = await mgmt("POST", `/projects/${id}/roles/_search`, { body: { queries: [{ displayNameQuery: { displayName: "read", method: "TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE" } }] } });
    expect(byName.json.result.map((r: { key: string }) => r.key)).toEqual(["invoices.read"]);

    expect((await mgmt("PUT", `/projects/${id}/roles/invoices.write`, { body: { displayName: "Write", group: "invoices" } })).status).toBe(200);
    const missing = await mgmt("PUT", `/projects/${id}/roles/nope`, { body: { displayName: "N" } });
    expect([missing.status, missing.json]).toEqual([404, zitadelError(5, "COMMAND-vv8M9", "Errors.Project.Role.NotExisting")]);
    expect((await mgmt("DELETE", `/projects/${id}/roles/invoices.read`)).status).toBe(200);
    const gone = await mgmt("DELETE", `/projects/${id}/roles/invoices.read`);
    expect([gone.status, gone.json]).toEqual([404, zitadelError(5, "COMMAND-m9vMf", "Errors.Project.Role.NotExisting")]);
    const after = await mgmt("POST", `/projects/${id}/roles/_search`, { body: {} });
    expect(after.json.result).toEqual([{ key: "invoices.write", details: expect.anything(), displayName: "Write", group: "invoices" }]);
    // The key is free again.
    expect((await mgmt("POST", `/projects/${id}/roles`, { body: { roleKey: "invoices.read", displayName: "R" } })).status).toBe(200);
  });

  it("REST: project members and their roles", async () => {
    const id = await newProject();
    const roles = await mgmt("POST", "/projects/members/roles/_search", { body: {} });
    expect(roles.json.result).toEqual(["PROJECT_OWNER", "PROJECT_OWNER_VIEWER"]);
    const foreignOrg = await createOrg(s.rt.deps, unique("Foreign"));
    const userId = await createMachine(s.rt.deps, foreignOrg, unique("pm"));
    const add = await mgmt("POST", `/projects/${id}/members`, { body: { userId, roles: ["PROJECT_OWNER_VIEWER"] } });
    expect(add.status).toBe(200);
    const dup = await mgmt("POST", `/projects/${id}/members`, { body: { userId, roles: ["PROJECT_OWNER"] } });
    expect([dup.status, dup.json]).toEqual([409, zitadelError(6, "PROJECT-PtXi1", "Errors.Project.Member.AlreadyExists")]);
    const bad = await mgmt("POST", `/projects/${id}/members`, { body: { userId, roles: ["ORG_OWNER"] } });
    expect([bad.status, bad.json]).toEqual([400, zitadelError(3, "PROJECT-3m9ds", "Errors.Project.Member.Invalid")]);
    const list = await mgmt("POST", `/projects/${id}/members/_search`, { body: {} });
    expect(list.json.result).toEqual([expect.objectContaining({ userId, roles: ["PROJECT_OWNER_VIEWER"], userResourceOwner: foreignOrg })]);
    expect((await mgmt("PUT", `/projects/${id}/members/${userId}`, { body: { roles: ["PROJECT_OWNER"] } })).status).toBe(200);
    expect((await mgmt("DELETE", `/projects/${id}/members/${userId}`)).status).toBe(200);
    const notMember = await mgmt("DELETE", `/projects/${id}/members/${userId}`);
    expect([notMember.status, notMember.json]).toEqual([404, zitadelError(5, "PROJECT-D8JxR", "Errors.NotFound")]);
    expect((await mgmt("POST", `/projects/${id}/members/_search`, { body: {} })).json.result ?? []).toEqual([]);
  });

  it("gRPC: the official client adds, reads and lists; errors carry ZITADEL's codes", async () => {
    const client = managementClient(s.url, "grpc", s.pat);
    const name = unique("grpc");
    const { id } = await client.addProject({ name, projectRoleAssertion: true });
    const { project } = await client.getProjectByID({ id });
    expect(project).toMatchObject({ id, name, state: 1, projectRoleAssertion: true });
    await client.bulkAddProjectRoles({ projectId: id, roles: [{ key: "a", displayName: "A" }, { key: "b", displayName: "B", group: "g" }] });
    const roles = await client.listProjectRoles({ projectId: id });
    expect(roles.result.map((r) => [r.key, r.group])).toEqual([["a", ""], ["b", "g"]]);
    const dup = await errorOf(client.addProjectRole({ projectId: id, roleKey: "a", displayName: "A" }));
    expect(dup).toBeInstanceOf(ConnectError);
    expect(dup?.code).toBe(Code.AlreadyExists);
    expect(dup?.rawMessage).toBe("Errors.Project.Role.AlreadyExists (V3-DKcYh)");
    await client.removeProject({ id });
    const gone = await errorOf(client.getProjectByID({ id }));
    expect([gone?.code, gone?.rawMessage]).toEqual([Code.NotFound, "Errors.Project.NotFound (QUERY-fk2fs)"]);
  });

  describe("project-scoped permissions", () => {
    it("a PROJECT_OWNER of one project acts on that project only, and on nothing org-level", async () => {
      const p = await newProject();
      const q = await newProject();
      const owner = await createPrincipal(s.rt.deps, { orgId, userName: unique("po") });
      await addProjectMember(s.rt.deps, systemCaller(orgId), p, owner.userId, ["PROJECT_OWNER"]);
      const as = (method: string, path: string, body?: unknown, org?: string) => mgmt(method, path, { token: owner.pat, body, orgId: org });

      // Its project: every (P) method.
      expect((await as("GET", `/projects/${p}`)).status).toBe(200);
      expect((await as("PUT", `/projects/${p}`, { name: unique("renamed") })).status).toBe(200);
      expect((await as("POST", `/projects/${p}/roles`, { roleKey: "r", displayName: "R" })).status).toBe(200);
      expect((await as("POST", `/projects/${p}/roles/_search`, {})).json.result).toHaveLength(1);
      expect((await as("POST", `/projects/${p}/members/_search`, {})).status).toBe(200);
      expect((await as("POST", `/projects/${p}/changes/_search`)).status).toBe(200);
      const other = await createMachine(s.rt.deps, orgId, unique("pm"));
      expect((await as("POST", `/projects/${p}/members`, { userId: other, roles: ["PROJECT_OWNER_VIEWER"] })).status).toBe(200);

      // Another project of the same org, and org-level methods: as if it had no membership.
      const denied: [string, string, unknown?][] = [
        ["GET", `/projects/${q}`],
        ["PUT", `/projects/${q}`, { name: "x" }],
        ["DELETE", `/projects/${q}`],
        ["POST", `/projects/${q}/roles`, { roleKey: "r", displayName: "R" }],
        ["POST", `/projects/${q}/roles/_search`, {}],
        ["POST", `/projects/${q}/members`, { userId: owner.userId, roles: ["PROJECT_OWNER"] }],
        ["POST", "/projects/_search", {}],
        ["POST", "/projects", { name: unique("new") }],
        ["POST", "/projects/members/roles/_search", {}],
        ["GET", "/orgs/me"],
        ["POST", "/users/_search", {}],
        ["POST", `/users/${owner.userId}/pats`, {}],
      ];
      for (const [method, path, body] of denied) {
        const r = await as(method, path, body);
        expect([method, path, r.status, r.json]).toEqual([method, path, 404, NO_MEMBERSHIP]);
      }
      // Its project named under another org is not its project there.
      const otherOrg = await createOrg(s.rt.deps, unique("Org"));
      const elsewhere = await as("GET", `/projects/${p}`, undefined, otherOrg);
      expect([elsewhere.status, elsewhere.json]).toEqual([404, NO_MEMBERSHIP]);
      // The other project is untouched: its creation is still its last project event.
      expect((await mgmt("GET", `/projects/${q}`)).json.project.details.sequence).toBe("1");
      expect((await s.rt.deps.store.load(s.rt.deps.instanceId, "project", q)).map((e) => e.type)).toEqual(["project.added", "project.member.added"]);

      // Removed, the project grants nothing any more.
      expect((await as("DELETE", `/projects/${p}`)).status).toBe(200);
      expect([(await as("GET", `/projects/${p}`)).status]).toEqual([404]);
    });

    it("a PROJECT_OWNER_VIEWER reads its project and writes nothing; a member from another org names the project's org", async () => {
      const p = await newProject();
      const foreignOrg = await createOrg(s.rt.deps, unique("Viewer Org"));
      const viewer = await createPrincipal(s.rt.deps, { orgId: foreignOrg, userName: unique("pov") });
      await addProjectMember(s.rt.deps, systemCaller(orgId), p, viewer.userId, ["PROJECT_OWNER_VIEWER"]);
      const grpc = managementClient(s.url, "grpc", viewer.pat, orgId);
      expect((await grpc.getProjectByID({ id: p })).project?.id).toBe(p);
      expect((await grpc.listProjectMembers({ projectId: p })).result.map((m) => m.userId)).toContain(viewer.userId);
      const write = await errorOf(grpc.updateProject({ id: p, name: "nope" }));
      expect([write?.code, write?.rawMessage]).toEqual([Code.PermissionDenied, "No matching permissions found (AUTH-5mWD2)"]);
      const addRole = await mgmt("POST", `/projects/${p}/roles`, { token: viewer.pat, orgId, body: { roleKey: "r", displayName: "R" } });
      expect([addRole.status, addRole.json]).toEqual([403, NO_PERMISSION]);
      // Without the header the target org is its own, where the project is not.
      const own = await mgmt("GET", `/projects/${p}`, { token: viewer.pat });
      expect([own.status, own.json]).toEqual([404, NO_MEMBERSHIP]);
    });

    it("the privilege ceiling covers project memberships: a PROJECT_OWNER_VIEWER cannot make an owner, an ORG_USER_MANAGER cannot mint a PAT for a PROJECT_OWNER", async () => {
      const p = await newProject();
      const viewer = await createPrincipal(s.rt.deps, { orgId, userName: unique("pov"), orgRoles: [{ orgId, roles: ["ORG_OWNER_VIEWER"] }] });
      await addProjectMember(s.rt.deps, systemCaller(orgId), p, viewer.userId, ["PROJECT_OWNER_VIEWER"]);
      const target = await createMachine(s.rt.deps, orgId, unique("t"));
      // PROJECT_OWNER_VIEWER lacks project.member.write altogether.
      expect((await mgmt("POST", `/projects/${p}/members`, { token: viewer.pat, body: { userId: target, roles: ["PROJECT_OWNER"] } })).status).toBe(403);

      const owner = await createMachine(s.rt.deps, orgId, unique("po"));
      await addProjectMember(s.rt.deps, systemCaller(orgId), p, owner, ["PROJECT_OWNER"]);
      const userManager = await createPrincipal(s.rt.deps, { orgId, userName: unique("oum"), orgRoles: [{ orgId, roles: ["ORG_USER_MANAGER"] }] });
      const pat = await mgmt("POST", `/users/${owner}/pats`, { token: userManager.pat, body: {} });
      expect(pat.status).toBe(403);
      expect(pat.json.details[0].id).toBe("AUTHZ-ceiling");
      const orgOwner = await createPrincipal(s.rt.deps, { orgId, userName: unique("oo"), orgRoles: [{ orgId, roles: ["ORG_OWNER"] }] });
      expect((await mgmt("POST", `/users/${owner}/pats`, { token: orgOwner.pat, body: {} })).status).toBe(200);
      // An ORG_OWNER may make a PROJECT_OWNER (its permissions cover the role's).
      expect((await mgmt("POST", `/projects/${p}/members`, { token: orgOwner.pat, body: { userId: target, roles: ["PROJECT_OWNER"] } })).status).toBe(200);
      // Removing the user takes its project membership along.
      expect((await mgmt("DELETE", `/users/${target}`)).status).toBe(200);
      expect((await mgmt("POST", `/projects/${p}/members/_search`, { body: { queries: [{ userIdQuery: { userId: target } }] } })).json.result ?? []).toEqual([]);
    });
  });

  it("a removed org takes its projects from every read; the projections rebuild to the same tables", async () => {
    const org = await createOrg(s.rt.deps, unique("Doomed"));
    const p = await newProject(org);
    await mgmt("POST", `/projects/${p}/roles`, { orgId: org, body: { roleKey: "r", displayName: "R" } });
    const kept = await newProject();
    await mgmt("POST", `/projects/${kept}/roles/_bulk`, { body: { roles: [{ key: "a", displayName: "A" }, { key: "b", displayName: "B" }] } });
    await removeOrg(s.rt.deps, systemCaller(org));
    const sql = s.rt.deps.store.sql;
    const rows = async () => ({
      projects: await sql.query("SELECT * FROM proj_projects ORDER BY instance_id, id"),
      roles: await sql.query("SELECT * FROM proj_project_roles ORDER BY instance_id, project_id, role_key"),
      members: await sql.query("SELECT * FROM proj_members ORDER BY instance_id, scope_type, scope_id, user_id"),
    });
    const before = await rows();
    expect(before.projects.some((r) => r.id === p)).toBe(false);
    expect(before.roles.some((r) => r.project_id === p)).toBe(false);
    expect(before.members.some((r) => r.scope_id === p)).toBe(false);
    expect(before.roles.filter((r) => r.project_id === kept)).toHaveLength(2);
    const viaHeader = await mgmt("GET", `/projects/${p}`, { orgId: org });
    expect(viaHeader.status).toBe(403); // AUTH-Bs7Ds: the org does not exist
    await rebuildProjections(sql);
    expect(await rows()).toEqual(before);
  });
});
