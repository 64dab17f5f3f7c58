import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { addProjectMember } from "../src/app/projects/project-members.js";
import { addProjectRoles } from "../src/app/projects/project-roles.js";
import { addProject } from "../src/app/projects/projects.js";
import { removeOrg } from "../src/app/orgs/orgs.js";
import { rebuildProjections } from "../src/store/rebuild.js";
import { errorOf, managementClient, rest } from "./helpers/clients.js";
import { ISO, zitadelError } from "./helpers/fixtures.js";
import { createOrg, createPrincipal, systemCaller } from "./helpers/principals.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";

const NO_MEMBERSHIP = zitadelError(5, "AUTHZ-cdgFk", "membership not found");
const NOT_FOUND = zitadelError(5, "QUERY-n98GGs", "Errors.ProjectGrant.NotFound");
const settings = { projectRoleAssertion: false, projectRoleCheck: false, hasProjectCheck: false, privateLabelingSetting: 0 };
const role = (key: string) => ({ key, displayName: key.toUpperCase(), group: "" });

describe.each<Storage>(["pglite", "postgres"])("project grants (%s)", (storage) => {
  let s: TestServer;
  let orgId: string;
  let orgName: string;
  const mgmt = (method: string, path: string, opts: { token?: string; orgId?: string; body?: unknown } = {}) =>
    rest(s.url, method, `/management/v1${path}`, { token: s.pat, ...opts });
  let n = 0;
  const unique = (what: string) => `${what}-${storage}-${++n}`;
  /** A project of `org` with the given roles. */
  const newProject = async (keys: string[] = ["read", "write", "admin"], org = orgId) => {
    const name = unique("P");
    const { id } = await addProject(s.rt.deps, systemCaller(org), { name, ...settings });
    if (keys.length) await addProjectRoles(s.rt.deps, systemCaller(org), id, keys.map(role), true);
    return { id, name };
  };
  const events = async (projectId: string) => (await s.rt.deps.store.load(s.rt.deps.instanceId, "project", projectId)).map((e) => e.type);

  beforeAll(async () => {
    s = await startTestServer({ storage });
    const me = (await mgmt("GET", "/orgs/me")).json.org;
    orgId = me.id;
    orgName = me.name;
  });
  afterAll(async () => {
    await s?.close();
  });

  it("REST: add, get, list with queries, update, deactivate, reactivate, remove", async () => {
    const p = await newProject();
    const partnerName = unique("Partner");
    const partner = await createOrg(s.rt.deps, partnerName);
    const add = await mgmt("POST", `/projects/${p.id}/grants`, { body: { grantedOrgId: partner, roleKeys: ["read", "write"] } });
    expect([add.status, add.json]).toEqual([200, { grantId: expect.stringMatching(/^\d+$/), details: { sequence: expect.any(String), creationDate: expect.stringMatching(ISO), resourceOwner: orgId } }]);
    const grantId = add.json.grantId as string;

    const get = await mgmt("GET", `/projects/${p.id}/grants/${grantId}`);
    expect(get.json.projectGrant).toEqual({
      grantId,
      grantedOrgId: partner,
      grantedOrgName: partnerName,
      grantedRoleKeys: ["read", "write"],
      state: "PROJECT_GRANT_STATE_ACTIVE",
      projectId: p.id,
      projectName: p.name,
      projectOwnerId: orgId,
      projectOwnerName: orgName,
      details: { sequence: add.json.details.sequence, creationDate: expect.stringMatching(ISO), changeDate: expect.stringMatching(ISO), resourceOwner: orgId },
    });

    const third = await createOrg(s.rt.deps, unique("Third"));
    expect((await mgmt("POST", `/projects/${p.id}/grants`, { body: { grantedOrgId: third, roleKeys: ["admin"] } })).status).toBe(200);
    const ids = async (body: unknown) => ((await mgmt("POST", `/projects/${p.id}/grants/_search`, { body })).json.result ?? []).map((g: { grantedOrgId: string }) => g.grantedOrgId);
    expect(await ids({})).toEqual([partner, third]);
    expect(await ids({ queries: [{ roleKeyQuery: { roleKey: "admin", method: "TEXT_QUERY_METHOD_EQUALS" } }] })).toEqual([third]);
    expect(await ids({ queries: [{ roleKeyQuery: { roleKey: "WRI", method: "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE" } }] })).toEqual([partner]);
    expect(await ids({ queries: [{ projectNameQuery: { name: "nope", method: "TEXT_QUERY_METHOD_EQUALS" } }] })).toEqual([]);
    expect(await ids({ query: { offset: "1", limit: 1 } })).toEqual([third]);

    const upd = await mgmt("PUT", `/projects/${p.id}/grants/${grantId}`, { body: { roleKeys: ["read"] } });
    expect(upd.status).toBe(200);
    expect(upd.json.details.changeDate).toMatch(ISO);
    // The same keys again: nothing written, the grant's details (as ZITADEL today).
    const before = await events(p.id);
    const same = await mgmt("PUT", `/projects/${p.id}/grants/${grantId}`, { body: { roleKeys: ["read"] } });
    expect([same.status, same.json.details.sequence]).toEqual([200, upd.json.details.sequence]);
    expect(await events(p.id)).toEqual(before);

    expect((await mgmt("POST", `/projects/${p.id}/grants/${grantId}/_deactivate`, { body: {} })).status).toBe(200);
    expect((await mgmt("GET", `/projects/${p.id}/grants/${grantId}`)).json.projectGrant).toMatchObject({ state: "PROJECT_GRANT_STATE_INACTIVE", grantedRoleKeys: ["read"] });
    expect((await mgmt("POST", `/projects/${p.id}/grants/${grantId}/_deactivate`, { body: {} })).status).toBe(200);
    expect((await mgmt("POST", `/projects/${p.id}/grants/${grantId}/_reactivate`, { body: {} })).status).toBe(200);
    expect((await mgmt("GET", `/projects/${p.id}/grants/${grantId}`)).json.projectGrant.state).toBe("PROJECT_GRANT_STATE_ACTIVE");

    expect((await mgmt("DELETE", `/projects/${p.id}/grants/${grantId}`)).status).toBe(200);
    const gone = await mgmt("GET", `/projects/${p.id}/grants/${grantId}`);
    expect([gone.status, gone.json]).toEqual([404, NOT_FOUND]);
    const again = await mgmt("DELETE", `/projects/${p.id}/grants/${grantId}`);
    expect([again.status, again.json]).toEqual([404, zitadelError(5, "PROJECT-D8JxR", "Errors.Project.Grant.NotFound")]);
    // The org may be granted the project again.
    expect((await mgmt("POST", `/projects/${p.id}/grants`, { body: { grantedOrgId: partner } })).status).toBe(200);
    expect((await events(p.id)).filter((t) => t.startsWith("project.grant."))).toEqual([
      "project.grant.added",
      "project.grant.added",
      "project.grant.changed",
      "project.grant.deactivated",
      "project.grant.reactivated",
      "project.grant.removed",
      "project.grant.added",
    ]);
  });

  it("REST: bad input — unknown org, own org, duplicate, unknown role key, unknown project — writes nothing", async () => {
    const p = await newProject();
    const partner = await createOrg(s.rt.deps, unique("Partner"));
    const grant = await mgmt("POST", `/projects/${p.id}/grants`, { body: { grantedOrgId: partner, roleKeys: ["read"] } });
    const before = await events(p.id);
    const cases: [string, string, unknown, number, unknown][] = [
      ["POST", `/projects/${p.id}/grants`, { grantedOrgId: "4711" }, 400, zitadelError(9, "COMMAND-3m9gg", "Errors.Org.NotFound")],
      ["POST", `/projects/${p.id}/grants`, { grantedOrgId: orgId }, 400, zitadelError(9, "PROJECT-ckUpbvboAH", "Errors.Project.Grant.Invalid")],
      ["POST", `/projects/${p.id}/grants`, { grantedOrgId: partner }, 409, zitadelError(6, "V3-DKcYh", "Errors.Project.Grant.AlreadyExists")],
      ["POST", `/projects/${p.id}/grants`, { grantedOrgId: await createOrg(s.rt.deps, unique("X")), roleKeys: ["read", "nope"] }, 400, zitadelError(9, "COMMAND-6m9gd", "Errors.Project.Role.NotFound")],
      ["POST", "/projects/4711/grants", { grantedOrgId: partner }, 400, zitadelError(9, "COMMAND-m9gsd", "Errors.Project.NotFound")],
      ["PUT", `/projects/${p.id}/grants/${grant.json.grantId}`, { roleKeys: ["read", "ghost"] }, 400, zitadelError(9, "COMMAND-6m9gd", "Errors.Project.Role.NotFound")],
      ["PUT", `/projects/${p.id}/grants/4711`, { roleKeys: [] }, 404, zitadelError(5, "PROJECT-D8JxR", "Errors.Project.Grant.NotFound")],
      ["POST", `/projects/${p.id}/grants/4711/_deactivate`, {}, 404, zitadelError(5, "PROJECT-D8JxR", "Errors.Project.Grant.NotFound")],
    ];
    for (const [method, path, body, status, error] of cases) {
      const r = await mgmt(method, path, { body });
      expect([method, path, r.status, r.json]).toEqual([method, path, status, error]);
    }
    // The proto's own limits: an empty granted org id.
    expect((await mgmt("POST", `/projects/${p.id}/grants`, { body: { roleKeys: ["read"] } })).status).toBe(400);
    expect(await events(p.id)).toEqual(before);
    expect((await mgmt("POST", `/projects/${p.id}/grants/_search`, { body: {} })).json.result).toHaveLength(1);
  });

  it("the granted org sees the project in ListGrantedProjects and GetGrantedProjectByID, and cannot change the project or the grant", async () => {
    const p = await newProject();
    const partner = await createOrg(s.rt.deps, unique("Partner"));
    const owner = await createPrincipal(s.rt.deps, { orgId: partner, userName: unique("po"), orgRoles: [{ orgId: partner, roles: ["ORG_OWNER"] }] });
    const grantId = (await mgmt("POST", `/projects/${p.id}/grants`, { body: { grantedOrgId: partner, roleKeys: ["read"] } })).json.grantId as string;
    const as = (method: string, path: string, body?: unknown, org?: string) => mgmt(method, path, { token: owner.pat, body, orgId: org });

    const list = await as("POST", "/granted_projects/_search", {});
    expect(list.json.result).toEqual([expect.objectContaining({ grantId, projectId: p.id, projectName: p.name, projectOwnerId: orgId, grantedOrgId: partner, grantedRoleKeys: ["read"] })]);
    expect(list.json.details.totalResult).toBe("1");
    const byName = await as("POST", "/granted_projects/_search", { queries: [{ nameQuery: { name: p.name.slice(0, 3), method: "TEXT_QUERY_METHOD_STARTS_WITH" } }] });
    expect(byName.json.result).toHaveLength(1);
    const byOwner = await as("POST", "/granted_projects/_search", { queries: [{ projectResourceOwnerQuery: { resourceOwner: "elsewhere" } }] });
    expect(byOwner.json.result ?? []).toEqual([]);
    const one = await as("GET", `/granted_projects/${p.id}/grants/${grantId}`);
    expect(one.json.grantedProject).toMatchObject({ grantId, projectId: p.id, state: "PROJECT_GRANT_STATE_ACTIVE" });
    // The granting org itself has granted nothing to itself.
    expect((await mgmt("POST", "/granted_projects/_search", { body: {} })).json.result ?? []).toEqual([]);
    const notGranted = await mgmt("GET", `/granted_projects/${p.id}/grants/${grantId}`);
    expect([notGranted.status, notGranted.json]).toEqual([404, NOT_FOUND]);

    // In its own org the project is not there; in the project's org it has no membership.
    const own = await as("PUT", `/projects/${p.id}/grants/${grantId}`, { roleKeys: ["read", "write"] });
    expect([own.status, own.json]).toEqual([404, zitadelError(5, "PROJECT-D8JxR", "Errors.Project.Grant.NotFound")]);
    for (const [method, path, body] of [
      ["PUT", `/projects/${p.id}`, { name: "taken over" }],
      ["POST", `/projects/${p.id}/roles`, { roleKey: "x", displayName: "X" }],
      ["PUT", `/projects/${p.id}/grants/${grantId}`, { roleKeys: ["read", "write"] }],
      ["DELETE", `/projects/${p.id}/grants/${grantId}`],
      ["GET", `/projects/${p.id}/grants/${grantId}`],
    ] as [string, string, unknown?][]) {
      const r = await as(method, path, body, orgId);
      expect([method, path, r.status, r.json]).toEqual([method, path, 404, NO_MEMBERSHIP]);
    }
    const ownProject = await as("GET", `/projects/${p.id}`);
    expect(ownProject.status).toBe(404);
    expect((await mgmt("GET", `/projects/${p.id}/grants/${grantId}`)).json.projectGrant.grantedRoleKeys).toEqual(["read"]);
  });

  it("a PROJECT_OWNER of P lists P's grants (ListProjectGrants checks ProjectId) and does nothing else with grants", async () => {
    const p = await newProject();
    const q = await newProject();
    const partner = await createOrg(s.rt.deps, unique("Partner"));
    const grantP = (await mgmt("POST", `/projects/${p.id}/grants`, { body: { grantedOrgId: partner, roleKeys: ["read"] } })).json.grantId as string;
    await mgmt("POST", `/projects/${q.id}/grants`, { body: { grantedOrgId: partner } });
    const owner = await createPrincipal(s.rt.deps, { orgId, userName: unique("po") });
    await addProjectMember(s.rt.deps, systemCaller(orgId), p.id, owner.userId, ["PROJECT_OWNER"]);
    const as = (method: string, path: string, body?: unknown) => mgmt(method, path, { token: owner.pat, body });

    expect((await as("POST", `/projects/${p.id}/grants/_search`, {})).json.result.map((g: { grantId: string }) => g.grantId)).toEqual([grantP]);
    for (const [method, path, body] of [
      ["POST", `/projects/${q.id}/grants/_search`, {}],
      ["GET", `/projects/${p.id}/grants/${grantP}`],
      ["POST", `/projects/${p.id}/grants`, { grantedOrgId: await createOrg(s.rt.deps, unique("Y")) }],
      ["PUT", `/projects/${p.id}/grants/${grantP}`, { roleKeys: [] }],
      ["POST", `/projects/${p.id}/grants/${grantP}/_deactivate`, {}],
      ["DELETE", `/projects/${p.id}/grants/${grantP}`],
      ["POST", "/granted_projects/_search", {}],
    ] as [string, string, unknown?][]) {
      const r = await as(method, path, body);
      expect([method, path, r.status, r.json]).toEqual([method, path, 404, NO_MEMBERSHIP]);
    }
    expect((await mgmt("POST", `/projects/${p.id}/grants/_search`, { body: {} })).json.result).toEqual([expect.objectContaining({ grantId: grantP, grantedRoleKeys: ["read"], state: "PROJECT_GRANT_STATE_ACTIVE" })]);
  });

  it("gRPC: the official client, with the granted org's view through x-zitadel-orgid", async () => {
    const client = managementClient(s.url, "grpc", s.pat);
    const p = await newProject(["a", "b"]);
    const partner = await createOrg(s.rt.deps, unique("Partner"));
    const { grantId, details } = await client.addProjectGrant({ projectId: p.id, grantedOrgId: partner, roleKeys: ["a", "b"] });
    expect(details?.resourceOwner).toBe(orgId);
    const { projectGrant } = await client.getProjectGrantByID({ projectId: p.id, grantId });
    expect(projectGrant).toMatchObject({ grantId, grantedOrgId: partner, grantedRoleKeys: ["a", "b"], state: 1, projectOwnerId: orgId });
    await client.updateProjectGrant({ projectId: p.id, grantId, roleKeys: ["b"] });
    // The admin is IAM_OWNER: it may act as the granted org.
    const asPartner = managementClient(s.url, "grpc", s.pat, partner);
    const granted = await asPartner.listGrantedProjects({});
    expect(granted.result.map((g) => [g.grantId, g.grantedRoleKeys])).toEqual([[grantId, ["b"]]]);
    expect((await asPartner.getGrantedProjectByID({ projectId: p.id, grantId })).grantedProject?.projectName).toBe(p.name);
    const dup = await errorOf(client.addProjectGrant({ projectId: p.id, grantedOrgId: partner }));
    expect([dup?.code, dup?.rawMessage]).toEqual([Code.AlreadyExists, "Errors.Project.Grant.AlreadyExists (V3-DKcYh)"]);
    const own = await errorOf(client.addProjectGrant({ projectId: p.id, grantedOrgId: orgId }));
    expect([own?.code, own?.rawMessage]).toEqual([Code.FailedPrecondition, "Errors.Project.Grant.Invalid (PROJECT-ckUpbvboAH)"]);
    await client.removeProjectGrant({ projectId: p.id, grantId });
    const gone = await errorOf(asPartner.getGrantedProjectByID({ projectId: p.id, grantId }));
    expect([gone?.code, gone?.rawMessage]).toEqual([Code.NotFound, "Errors.ProjectGrant.NotFound (QUERY-n98GGs)"]);
  });

  it("removing a role takes it out of the grants; removing the project or an org ends its grants; the projections rebuild to the same table", async () => {
    const partner = await createOrg(s.rt.deps, unique("Partner"));
    const doomedPartner = await createOrg(s.rt.deps, unique("Doomed"));
    const p = await newProject();
    const g1 = (await mgmt("POST", `/projects/${p.id}/grants`, { body: { grantedOrgId: partner, roleKeys: ["read", "write"] } })).json.grantId as string;
    await mgmt("POST", `/projects/${p.id}/grants`, { body: { grantedOrgId: doomedPartner, roleKeys: ["write"] } });
    expect((await mgmt("DELETE", `/projects/${p.id}/roles/write`)).status).toBe(200);
    expect((await events(p.id)).slice(-3)).toEqual(["project.role.removed", "project.grant.cascade.changed", "project.grant.cascade.changed"]);
    const listed = async () => ((await mgmt("POST", `/projects/${p.id}/grants/_search`, { body: {} })).json.result ?? []).map((g: { grantedOrgId: string; grantedRoleKeys?: string[] }) => [g.grantedOrgId, g.grantedRoleKeys ?? []]);
    expect(await listed()).toEqual([[partner, ["read"]], [doomedPartner, []]]);

    // The granted org removed: its grants go from the reads (ZITADEL's projection on org.removed).
    await removeOrg(s.rt.deps, systemCaller(doomedPartner));
    expect(await listed()).toEqual([[partner, ["read"]]]);
    // The project's org removed: every grant of its projects goes.
    const doomedOwner = await createOrg(s.rt.deps, unique("Owner"));
    const q = await newProject(["r"], doomedOwner);
    await mgmt("POST", `/projects/${q.id}/grants`, { orgId: doomedOwner, body: { grantedOrgId: partner, roleKeys: ["r"] } });
    const grantedToPartner = async () => ((await mgmt("POST", "/granted_projects/_search", { orgId: partner, body: {} })).json.result ?? []).map((g: { projectId: string }) => g.projectId);
    expect(await grantedToPartner()).toEqual([p.id, q.id]);
    await removeOrg(s.rt.deps, systemCaller(doomedOwner));
    expect(await grantedToPartner()).toEqual([p.id]);

    const sql = s.rt.deps.store.sql;
    const rows = () => sql.query("SELECT * FROM proj_project_grants ORDER BY instance_id, grant_id");
    const before = await rows();
    await rebuildProjections(sql);
    expect(await rows()).toEqual(before);

    // The project removed: its grants go with it, and the granted org sees nothing.
    expect((await mgmt("DELETE", `/projects/${p.id}`)).status).toBe(200);
    expect(await grantedToPartner()).toEqual([]);
    const g = await mgmt("GET", `/projects/${p.id}/grants/${g1}`);
    expect([g.status, g.json]).toEqual([404, NOT_FOUND]);
    expect((await sql.query("SELECT * FROM proj_project_grants WHERE project_id = $1", [p.id])).length).toBe(0);
  });
});
