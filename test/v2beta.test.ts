import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appServiceV2beta, authorizationServiceV2beta, errorOf, managementClient, projectServiceV2beta, rest, tokenRequest } from "./helpers/clients.js";
import { myOrgId } from "./helpers/fixtures.js";
import { createOrg } from "./helpers/principals.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

/**
 * zitadel.project.v2beta.ProjectService, zitadel.authorization.v2beta.AuthorizationService and
 * zitadel.app.v2beta.AppService (API apps) with connect clients on the @zitadel/proto descriptors
 * over @zitadel/client's gRPC transport and Connect, fetch over REST, and across versions: v1 and
 * v2beta see the same projects, grants and apps. The admin's PAT is IAM_OWNER.
 */

const inAnHour = () => timestampFromDate(new Date(Date.now() + 3600_000));
const ROLES = "urn:zitadel:iam:org:projects:roles";
const aud = (p: string) => `urn:zitadel:iam:org:project:id:${p}:aud`;
const claim = (p: string) => `urn:zitadel:iam:org:project:${p}:roles`;

let s: TestServer;
let orgId: string;
let otherOrg: string;

beforeAll(async () => {
  s = await startTestServer({ storage: "pglite" });
  orgId = await myOrgId(s);
  otherOrg = await createOrg(s.rt.deps, "V2beta Other");
});
afterAll(async () => {
  await s?.close();
});

describe.each(["grpc", "connect"] as const)("v2beta services over %s", (protocol) => {
  const projects = () => projectServiceV2beta(s.url, protocol, s.pat);
  const authz = () => authorizationServiceV2beta(s.url, protocol, s.pat);
  const apps = () => appServiceV2beta(s.url, protocol, s.pat);
  const v1 = () => managementClient(s.url, "connect", s.pat, orgId);
  let n = 0;
  const name = (what: string) => `${protocol}-${what}-${++n}`;

  it("ProjectService: create (chosen id, v2beta flags), get, list, update, deactivate, activate, delete", async () => {
    const created = await projects().createProject({ organizationId: orgId, name: name("P"), projectRoleAssertion: true, authorizationRequired: true, projectAccessRequired: false });
    expect(created.id).toMatch(/^\d+$/);
    expect(created.creationDate).toBeDefined();
    const got = (await projects().getProject({ id: created.id })).project;
    expect(got).toMatchObject({ id: created.id, organizationId: orgId, state: 1, projectRoleAssertion: true, authorizationRequired: true, projectAccessRequired: false });
    // v1 sees the same flags under their v1 names
    expect((await v1().getProjectByID({ id: created.id })).project).toMatchObject({ projectRoleAssertion: true, projectRoleCheck: true, hasProjectCheck: false });

    const chosen = await projects().createProject({ organizationId: orgId, id: name("chosen"), name: name("Chosen") });
    expect(chosen.id).toBe(`${protocol}-chosen-${n - 1}`);
    const taken = await errorOf(projects().createProject({ organizationId: orgId, id: chosen.id, name: name("Other") }));
    expect(taken?.code).toBe(Code.AlreadyExists);

    const listed = await projects().listProjects({ filters: [{ filter: { case: "inProjectIdsFilter", value: { ids: [created.id, chosen.id] } } }] });
    expect(listed.projects.map((p) => p.id).sort()).toEqual([created.id, chosen.id].sort());
    expect(listed.pagination?.totalResult).toBe(2n);
    const byName = await projects().listProjects({ filters: [{ filter: { case: "projectNameFilter", value: { projectName: got!.name, method: 0 } } }] });
    expect(byName.projects.map((p) => p.id)).toEqual([created.id]);

    const upd = await projects().updateProject({ id: created.id, name: name("Renamed"), hasProjectCheck: true });
    expect(upd.changeDate).toBeDefined();
    const after = (await projects().getProject({ id: created.id })).project!;
    expect(after).toMatchObject({ authorizationRequired: true, projectAccessRequired: true, projectRoleAssertion: true });
    // nothing different: no write, the project's change date
    const seq = (await s.rt.deps.cache.get(s.rt.deps.instanceId, "project", created.id)).sequence;
    await projects().updateProject({ id: created.id, name: after.name });
    expect((await s.rt.deps.cache.get(s.rt.deps.instanceId, "project", created.id)).sequence).toBe(seq);

    await projects().deactivateProject({ id: created.id });
    expect((await projects().getProject({ id: created.id })).project?.state).toBe(2);
    await projects().activateProject({ id: created.id });
    expect((await v1().getProjectByID({ id: created.id })).project?.state).toBe(1);
    const del = await projects().deleteProject({ id: created.id });
    expect(del.deletionDate).toBeDefined();
    const gone = await errorOf(projects().getProject({ id: created.id }));
    expect(gone?.code).toBe(Code.NotFound);
  });

  it("ProjectService: roles and project grants", async () => {
    const { id } = await projects().createProject({ organizationId: orgId, name: name("Roles") });
    await projects().addProjectRole({ projectId: id, roleKey: "read", displayName: "Read" });
    await projects().addProjectRole({ projectId: id, roleKey: "write", displayName: "Write", group: "g" });
    await projects().updateProjectRole({ projectId: id, roleKey: "write", displayName: "Write all" });
    const roles = await projects().listProjectRoles({ projectId: id });
    expect(roles.projectRoles.map((r) => [r.key, r.displayName, r.group])).toEqual([
      ["read", "Read", ""],
      ["write", "Write all", "g"],
    ]);
    const filtered = await projects().listProjectRoles({ projectId: id, filters: [{ filter: { case: "roleKeyFilter", value: { key: "wr", method: 2 } } }] });
    expect(filtered.projectRoles.map((r) => r.key)).toEqual(["write"]);
    expect((await v1().listProjectRoles({ projectId: id })).result.map((r) => r.key)).toEqual(["read", "write"]);

    const grant = await projects().createProjectGrant({ projectId: id, grantedOrganizationId: otherOrg, roleKeys: ["read", "write"] });
    expect(grant.creationDate).toBeDefined();
    await projects().updateProjectGrant({ projectId: id, grantedOrganizationId: otherOrg, roleKeys: ["read"] });
    await projects().deactivateProjectGrant({ projectId: id, grantedOrganizationId: otherOrg });
    const listed = await projects().listProjectGrants({ filters: [{ filter: { case: "inProjectIdsFilter", value: { ids: [id] } } }] });
    expect(listed.projectGrants).toHaveLength(1);
    expect(listed.projectGrants[0]).toMatchObject({ projectId: id, organizationId: orgId, grantedOrganizationId: otherOrg, grantedRoleKeys: ["read"], state: 2 });
    await projects().activateProjectGrant({ projectId: id, grantedOrganizationId: otherOrg });
    const v1Grants = await v1().listProjectGrants({ projectId: id });
    expect(v1Grants.result.map((g) => [g.grantedOrgId, g.state])).toEqual([[otherOrg, 1]]);
    await projects().deleteProjectGrant({ projectId: id, grantedOrganizationId: otherOrg });
    expect((await v1().listProjectGrants({ projectId: id })).result).toEqual([]);
    const missing = await errorOf(projects().deleteProjectGrant({ projectId: id, grantedOrganizationId: otherOrg }));
    expect(missing?.code).toBe(Code.NotFound);

    await projects().removeProjectRole({ projectId: id, roleKey: "read" });
    expect((await projects().listProjectRoles({ projectId: id })).projectRoles.map((r) => r.key)).toEqual(["write"]);
  });

  it("AuthorizationService: create, list, update, deactivate, activate, delete; the same grants as v1's user grants", async () => {
    const { id: projectId } = await projects().createProject({ organizationId: orgId, name: name("Authz") });
    await projects().addProjectRole({ projectId, roleKey: "a", displayName: "A" });
    await projects().addProjectRole({ projectId, roleKey: "b", displayName: "B" });
    const { userId } = await v1().addMachineUser({ userName: name("svc"), name: "Svc" });
    const created = await authz().createAuthorization({ userId, projectId, roleKeys: ["a"] });
    expect(created.id).toMatch(/^\d+$/);
    const v1Grant = (await v1().getUserGrantByID({ userId, grantId: created.id })).userGrant;
    expect(v1Grant).toMatchObject({ projectId, roleKeys: ["a"], orgId });

    await authz().updateAuthorization({ id: created.id, roleKeys: ["a", "b"] });
    await authz().deactivateAuthorization({ id: created.id });
    const listed = await authz().listAuthorizations({ filters: [{ filter: { case: "userId", value: { id: userId } } }] });
    expect(listed.authorizations).toHaveLength(1);
    expect(listed.authorizations[0]).toMatchObject({ id: created.id, projectId, projectOrganizationId: orgId, organizationId: orgId, state: 2, roles: ["a", "b"], user: { id: userId, organizationId: orgId } });
    const byRole = await authz().listAuthorizations({ filters: [{ filter: { case: "roleKey", value: { key: "b", method: 0 } } }, { filter: { case: "projectId", value: { id: projectId } } }] });
    expect(byRole.authorizations.map((a) => a.id)).toEqual([created.id]);
    await authz().activateAuthorization({ id: created.id });
    expect((await v1().getUserGrantByID({ userId, grantId: created.id })).userGrant?.state).toBe(1);

    // a grant v1 made is managed by v2beta
    const { userGrantId } = await v1().addUserGrant({ userId, projectId: (await projects().createProject({ organizationId: orgId, name: name("V1") })).id, roleKeys: [] });
    await authz().deleteAuthorization({ id: userGrantId });
    expect((await errorOf(v1().getUserGrantByID({ userId, grantId: userGrantId })))?.code).toBe(Code.NotFound);
    await authz().deleteAuthorization({ id: created.id });
    expect((await authz().listAuthorizations({ filters: [{ filter: { case: "userId", value: { id: userId } } }] })).authorizations).toEqual([]);
  });

  it("AppService: API apps and their keys; OIDC and SAML answer Unimplemented naming the method", async () => {
    const { id: projectId } = await projects().createProject({ organizationId: orgId, name: name("Apps") });
    const created = await apps().createApplication({ projectId, name: "api", creationRequestType: { case: "apiRequest", value: { authMethodType: 0 } } });
    expect(created.creationResponseType.case).toBe("apiResponse");
    const api = created.creationResponseType.value as { clientId: string; clientSecret: string };
    expect(api.clientSecret).toMatch(/^pca_[A-Za-z0-9]{64}$/);
    const got = (await apps().getApplication({ id: created.appId })).app;
    expect(got).toMatchObject({ id: created.appId, name: "api", state: 1, config: { case: "apiConfig", value: { clientId: api.clientId, authMethodType: 0 } } });
    expect((await v1().getAppByID({ projectId, appId: created.appId })).app?.name).toBe("api");

    await apps().updateApplication({ projectId, id: created.appId, name: "api-2", updateRequestType: { case: "apiConfigurationRequest", value: { authMethodType: 1 } } });
    expect((await apps().getApplication({ id: created.appId })).app).toMatchObject({ name: "api-2", config: { value: { authMethodType: 1 } } });
    await apps().updateApplication({ projectId, id: created.appId, name: "api-2", updateRequestType: { case: "apiConfigurationRequest", value: { authMethodType: 0 } } });
    const secret = await apps().regenerateClientSecret({ projectId, applicationId: created.appId, appType: { case: "isApi", value: true } });
    expect(secret.clientSecret).toMatch(/^pca_[A-Za-z0-9]{64}$/);
    expect(secret.clientSecret).not.toBe(api.clientSecret);

    await apps().deactivateApplication({ projectId, id: created.appId });
    const inactive = await apps().listApplications({ projectId, filters: [{ filter: { case: "stateFilter", value: 2 } }] });
    expect(inactive.applications.map((a) => a.id)).toEqual([created.appId]);
    await apps().reactivateApplication({ projectId, id: created.appId });
    expect((await apps().listApplications({ projectId, filters: [{ filter: { case: "oidcAppOnly", value: true } }] })).applications).toEqual([]);
    expect((await apps().listApplications({ projectId })).applications.map((a) => [a.id, a.state])).toEqual([[created.appId, 1]]);

    await apps().updateApplication({ projectId, id: created.appId, name: "", updateRequestType: { case: "apiConfigurationRequest", value: { authMethodType: 1 } } });
    const key = await apps().createApplicationKey({ projectId, appId: created.appId, expirationDate: inAnHour() });
    const file = JSON.parse(new TextDecoder().decode(key.keyDetails)) as Record<string, string>;
    expect(file).toMatchObject({ type: "application", keyId: key.id, appId: created.appId, clientId: api.clientId });
    expect((await apps().getApplicationKey({ id: key.id })).id).toBe(key.id);
    const keys = await apps().listApplicationKeys({ resourceId: { case: "applicationId", value: created.appId } });
    expect(keys.keys.map((k) => [k.id, k.projectId, k.organizationId])).toEqual([[key.id, projectId, orgId]]);
    expect((await v1().listAppKeys({ projectId, appId: created.appId })).result.map((k) => k.id)).toEqual([key.id]);
    await apps().deleteApplicationKey({ id: key.id, projectId, applicationId: created.appId });
    expect((await errorOf(apps().getApplicationKey({ id: key.id })))?.code).toBe(Code.NotFound);

    const oidc = await errorOf(apps().createApplication({ projectId, name: "web", creationRequestType: { case: "oidcRequest", value: {} } }));
    expect(oidc?.code).toBe(Code.Unimplemented);
    expect(oidc?.rawMessage).toContain("CreateApplication");
    const oidcSecret = await errorOf(apps().regenerateClientSecret({ projectId, applicationId: created.appId, appType: { case: "isOidc", value: true } }));
    expect(oidcSecret?.code).toBe(Code.Unimplemented);
    expect(oidcSecret?.rawMessage).toContain("RegenerateClientSecret");

    await apps().deleteApplication({ projectId, id: created.appId });
    expect((await errorOf(apps().getApplication({ id: created.appId })))?.code).toBe(Code.NotFound);
    expect((await errorOf(v1().getAppByID({ projectId, appId: created.appId })))?.code).toBe(Code.NotFound);
  });

  it("bad input: ZITADEL's errors, nothing half-written", async () => {
    const unknownOrg = await errorOf(projects().createProject({ organizationId: "no-such-org", name: name("X") }));
    expect(unknownOrg?.code).toBe(Code.FailedPrecondition);
    expect(unknownOrg?.rawMessage).toContain("Errors.Org.NotFound");
    const noName = await errorOf(projects().createProject({ organizationId: orgId, name: "" }));
    expect(noName?.code).toBe(Code.InvalidArgument);
    const unknownProject = await errorOf(projects().updateProject({ id: "no-such-project", name: "x" }));
    expect([unknownProject?.code, unknownProject?.rawMessage]).toEqual([Code.NotFound, "Errors.Project.NotFound (COMMAND-3M9sd)"]);
    expect((await errorOf(projects().getProject({ id: "no-such-project" })))?.code).toBe(Code.NotFound);

    const { id: projectId } = await projects().createProject({ organizationId: orgId, name: name("Bad") });
    const { userId } = await v1().addMachineUser({ userName: name("svc"), name: "Svc" });
    const unknownRole = await errorOf(authz().createAuthorization({ userId, projectId, roleKeys: ["nope"] }));
    expect(unknownRole?.code).toBe(Code.FailedPrecondition);
    const unknownUser = await errorOf(authz().createAuthorization({ userId: "nobody", projectId, roleKeys: [] }));
    expect(unknownUser?.code).toBe(Code.FailedPrecondition);
    expect((await authz().listAuthorizations({ filters: [{ filter: { case: "projectId", value: { id: projectId } } }] })).authorizations).toEqual([]);
    expect((await errorOf(authz().updateAuthorization({ id: "no-such-grant", roleKeys: [] })))?.code).toBe(Code.NotFound);

    const dupRole = await projects().addProjectRole({ projectId, roleKey: "r", displayName: "R" });
    expect(dupRole.creationDate).toBeDefined();
    expect((await errorOf(projects().addProjectRole({ projectId, roleKey: "r", displayName: "R" })))?.code).toBe(Code.AlreadyExists);
    await apps().createApplication({ projectId, name: "same", creationRequestType: { case: "apiRequest", value: { authMethodType: 1 } } });
    const sameName = await errorOf(apps().createApplication({ projectId, name: "same", creationRequestType: { case: "apiRequest", value: { authMethodType: 1 } } }));
    expect(sameName?.code).toBe(Code.AlreadyExists);
    expect((await apps().listApplications({ projectId })).applications).toHaveLength(1);
  });
});

describe("v2beta over REST and across versions", () => {
  const v2 = (method: string, path: string, body?: unknown) => rest(s.url, method, path, { token: s.pat, body });

  it("REST routes: /v2beta/projects, /v2beta/authorizations, /v2beta/applications", async () => {
    const created = await v2("POST", "/v2beta/projects", { organizationId: orgId, name: "REST project", authorizationRequired: true });
    expect(created.status).toBe(200);
    const id = created.json.id as string;
    const got = await v2("GET", `/v2beta/projects/${id}`);
    expect(got.json.project).toMatchObject({ id, organizationId: orgId, name: "REST project", state: "PROJECT_STATE_ACTIVE", authorizationRequired: true });
    expect((await v2("POST", `/v2beta/projects/${id}/roles`, { roleKey: "k", displayName: "K" })).status).toBe(200);
    const roles = await v2("POST", `/v2beta/projects/${id}/roles/search`, {});
    expect(roles.json.projectRoles.map((r: { key: string }) => r.key)).toEqual(["k"]);

    const { json: user } = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "rest-v2beta-svc", name: "Svc" } });
    const grant = await v2("POST", "/v2beta/authorizations", { userId: user.userId, projectId: id, roleKeys: ["k"] });
    expect(grant.status).toBe(200);
    const patched = await v2("PATCH", `/v2beta/authorizations/${grant.json.id}`, { roleKeys: [] });
    expect(patched.status).toBe(200);
    const searched = await v2("POST", "/v2beta/authorizations/search", { filters: [{ projectId: { id } }] });
    expect(searched.json.authorizations.map((a: { id: string }) => a.id)).toEqual([grant.json.id]);

    const app = await v2("POST", "/v2beta/applications", { projectId: id, name: "rest-api", apiRequest: { authMethodType: "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT" } });
    expect(app.status).toBe(200);
    expect(app.json.apiResponse.clientId).toBeTruthy();
    const gotApp = await v2("GET", `/v2beta/applications/${app.json.appId}`);
    expect(gotApp.json.app).toMatchObject({ name: "rest-api", apiConfig: { authMethodType: "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT" } });
    const missing = await v2("GET", "/v2beta/projects/no-such-project");
    expect(missing.status).toBe(404);
    expect((await v2("DELETE", `/v2beta/projects/${id}`)).status).toBe(200);
  });

  it("a project made with v1 is managed with v2beta, and the other way round", async () => {
    const mgmt = managementClient(s.url, "connect", s.pat, orgId);
    const projects = projectServiceV2beta(s.url, "connect", s.pat);
    const { id: fromV1 } = await mgmt.addProject({ name: "Made by v1", hasProjectCheck: true });
    expect((await projects.getProject({ id: fromV1 })).project).toMatchObject({ name: "Made by v1", projectAccessRequired: true });
    await projects.updateProject({ id: fromV1, name: "Renamed by v2beta" });
    expect((await mgmt.getProjectByID({ id: fromV1 })).project?.name).toBe("Renamed by v2beta");
    const { id: fromV2 } = await projects.createProject({ organizationId: orgId, name: "Made by v2beta" });
    expect((await mgmt.listProjects({ queries: [] })).result.map((p) => p.id)).toContain(fromV2);
    await mgmt.removeProject({ id: fromV2 });
    expect((await errorOf(projects.getProject({ id: fromV2 })))?.code).toBe(Code.NotFound);
  });

  it("an authorization made with v2beta shows in a machine's token role claims, and is gone once deleted", async () => {
    const mgmt = managementClient(s.url, "connect", s.pat, orgId);
    const projects = projectServiceV2beta(s.url, "connect", s.pat);
    const authz = authorizationServiceV2beta(s.url, "connect", s.pat);
    const { id: p } = await projects.createProject({ organizationId: orgId, name: "Claims" });
    await projects.addProjectRole({ projectId: p, roleKey: "reader", displayName: "Reader" });
    const { userId } = await mgmt.addMachineUser({ userName: "v2beta-claims", name: "Claims", accessTokenType: 1 });
    const { clientSecret } = await mgmt.generateMachineSecret({ userId });
    const { id } = await authz.createAuthorization({ userId, projectId: p, roleKeys: ["reader"] });
    const token = () => tokenRequest(s.url, { grant_type: "client_credentials", scope: `openid ${aud(p)} ${ROLES}` }, { id: "v2beta-claims", secret: clientSecret });
    const t = await token();
    expect(t.status).toBe(200);
    expect(Object.keys((decodeJwt(t.json.access_token)[claim(p)] ?? {}) as object)).toEqual(["reader"]);
    await authz.deleteAuthorization({ id });
    expect(decodeJwt((await token()).json.access_token)[claim(p)]).toBeUndefined();
  });
});
