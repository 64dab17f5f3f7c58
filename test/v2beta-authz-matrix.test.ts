import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addApiApp } from "../src/app/projects/apps.js";
import { addProjectGrant } from "../src/app/projects/project-grants.js";
import { addProjectMember } from "../src/app/projects/project-members.js";
import { addProjectRoles } from "../src/app/projects/project-roles.js";
import { addProject } from "../src/app/projects/projects.js";
import { addUserGrant } from "../src/app/usergrants/user-grants.js";
import { rolesGrant } from "../src/domain/orgs/roles.js";
import { appServiceV2beta, authorizationServiceV2beta, errorOf, projectServiceV2beta } from "./helpers/clients.js";
import { createMachine, createOrg, createPrincipal, systemCaller } from "./helpers/principals.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

/**
 * The authorization matrix of the v2beta services over Connect: each project-scoped method × callers
 * × a project (A: in the caller's org, where one caller is PROJECT_OWNER; B: in the same org; C: in
 * another org). v2beta authorizes in the project's org, where the project's own memberships count
 * (x-zitadel-orgid plays no part: every call sends the other org's id in it); a refused write
 * changes nothing; searches list only what the caller may read.
 */

type Target = "A" | "B" | "C";
interface Actor {
  name: string;
  pat: string;
  iamRoles?: string[];
  orgRoles: Partial<Record<"own" | "other", string[]>>;
  /** The PROJECT_OWNER of every project A (its user id). */
  ownsA?: string;
}

/** The permission each method checks in the project's org (ZITADEL's v2 permission checks). */
const METHODS: [service: "project" | "app" | "authz", method: string, permission: string][] = [
  ["project", "getProject", "project.read"],
  ["project", "updateProject", "project.write"],
  ["project", "deactivateProject", "project.write"],
  ["project", "deleteProject", "project.delete"],
  ["project", "addProjectRole", "project.role.write"],
  ["project", "updateProjectRole", "project.role.write"],
  ["project", "removeProjectRole", "project.role.delete"],
  ["project", "listProjectRoles", "project.role.read"],
  ["project", "createProjectGrant", "project.grant.write"],
  ["project", "deleteProjectGrant", "project.grant.delete"],
  ["app", "createApplication", "project.app.write"],
  ["app", "getApplication", "project.app.read"],
  ["app", "updateApplication", "project.app.write"],
  ["app", "deleteApplication", "project.app.delete"],
  ["app", "listApplications", "project.app.read"],
  ["app", "createApplicationKey", "project.app.write"],
  ["app", "regenerateClientSecret", "project.app.write"],
  ["authz", "createAuthorization", "user.grant.write"],
  ["authz", "updateAuthorization", "user.grant.write"],
  ["authz", "deleteAuthorization", "user.grant.delete"],
];

const inAnHour = () => timestampFromDate(new Date(Date.now() + 3600_000));
const AUTHZ_IDS = ["AUTHZ-cdgFk", "AUTH-AWfge", "AUTH-5mWD2"];

describe("authorization matrix of the v2beta services (Connect)", () => {
  let s: TestServer;
  let own: string;
  let other: string;
  let actors: Actor[];
  let n = 0;

  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
    const d = s.rt.deps;
    own = (await d.cache.get(d.instanceId, "instance", d.instanceId)).defaultOrgId;
    other = await createOrg(d, "V2beta Matrix Other");
    const principal = (userName: string, opts: { orgRoles?: { orgId: string; roles: string[] }[]; iamRoles?: string[] }) => createPrincipal(d, { orgId: own, userName, ...opts });
    const none = await principal("v2b-none", {});
    const owner = await principal("v2b-org-owner", { orgRoles: [{ orgId: own, roles: ["ORG_OWNER"] }] });
    const viewer = await principal("v2b-viewer", { orgRoles: [{ orgId: own, roles: ["ORG_OWNER_VIEWER"] }] });
    const otherOwner = await principal("v2b-other-owner", { orgRoles: [{ orgId: other, roles: ["ORG_OWNER"] }] });
    const iam = await principal("v2b-iam", { iamRoles: ["IAM_OWNER"] });
    const projectOwner = await principal("v2b-project-owner", {});
    actors = [
      { name: "no membership", pat: none.pat, orgRoles: {} },
      { name: "ORG_OWNER of own org", pat: owner.pat, orgRoles: { own: ["ORG_OWNER"] } },
      { name: "ORG_OWNER_VIEWER of own org", pat: viewer.pat, orgRoles: { own: ["ORG_OWNER_VIEWER"] } },
      { name: "ORG_OWNER of the other org", pat: otherOwner.pat, orgRoles: { other: ["ORG_OWNER"] } },
      { name: "IAM_OWNER", pat: iam.pat, iamRoles: ["IAM_OWNER"], orgRoles: {} },
      { name: "PROJECT_OWNER of A", pat: projectOwner.pat, orgRoles: {}, ownsA: projectOwner.userId },
    ];
  });
  afterAll(async () => {
    await s?.close();
  });

  /** A fresh project for one call: a role "r", an API app (JWT keys), a grant to the third org, a user grant; A made owned by the PROJECT_OWNER actor. */
  async function target(t: Target) {
    const d = s.rt.deps;
    const org = t === "C" ? other : own;
    const caller = systemCaller(org);
    const { id: projectId } = await addProject(d, caller, { name: `m-${++n}`, projectRoleAssertion: false, projectRoleCheck: false, hasProjectCheck: false, privateLabelingSetting: 0 });
    await addProjectRoles(d, caller, projectId, [{ key: "r", displayName: "R", group: "" }], false);
    const app = await addApiApp(d, caller, { projectId, name: "app", authMethodType: 1 });
    const third = t === "C" ? own : other;
    if (t === "A") await addProjectMember(d, caller, projectId, actors.find((a) => a.ownsA)!.ownsA!, ["PROJECT_OWNER"]);
    const user = await createMachine(d, org, `m-user-${n}`);
    const grant = await addUserGrant(d, caller, { userId: user, projectId, projectGrantId: "", roleKeys: ["r"] });
    await addProjectGrant(d, caller, projectId, third, ["r"]);
    return { projectId, appId: app.appId, third, user, grantId: grant.id };
  }

  function request(method: string, x: Awaited<ReturnType<typeof target>>): Record<string, unknown> {
    const { projectId, appId, third, user, grantId } = x;
    switch (method) {
      case "getProject":
      case "deactivateProject":
      case "deleteProject":
        return { id: projectId };
      case "updateProject":
        return { id: projectId, name: `renamed-${++n}` };
      case "addProjectRole":
        return { projectId, roleKey: "new", displayName: "New" };
      case "updateProjectRole":
        return { projectId, roleKey: "r", displayName: "Changed" };
      case "removeProjectRole":
        return { projectId, roleKey: "r" };
      case "listProjectRoles":
      case "listApplications":
        return { projectId };
      case "createProjectGrant":
        return { projectId, grantedOrganizationId: third === own ? other : own, roleKeys: [] };
      case "deleteProjectGrant":
        return { projectId, grantedOrganizationId: third };
      case "createApplication":
        return { projectId, name: "new-app", creationRequestType: { case: "apiRequest", value: { authMethodType: 1 } } };
      case "getApplication":
        return { id: appId };
      case "updateApplication":
        return { projectId, id: appId, name: "renamed-app" };
      case "deleteApplication":
        return { projectId, id: appId };
      case "createApplicationKey":
        return { projectId, appId, expirationDate: inAnHour() };
      case "regenerateClientSecret":
        return { projectId, applicationId: appId, appType: { case: "isApi", value: true } };
      case "createAuthorization":
        return { userId: user, projectId, roleKeys: [] };
      case "updateAuthorization":
        return { id: grantId, roleKeys: [] };
      case "deleteAuthorization":
        return { id: grantId };
      default:
        throw new Error(method);
    }
  }

  it("refuses callers without the permission in the project's org or project, and a refused call writes nothing", async () => {
    const d = s.rt.deps;
    const failures: string[] = [];
    for (const actor of actors) {
      const clients = {
        project: projectServiceV2beta(s.url, "connect", actor.pat, other), // x-zitadel-orgid: ignored
        app: appServiceV2beta(s.url, "connect", actor.pat),
        authz: authorizationServiceV2beta(s.url, "connect", actor.pat),
      };
      for (const [service, method, permission] of METHODS) {
        for (const t of ["A", "B", "C"] as const) {
          const x = await target(t);
          const roles = [...(actor.iamRoles ?? []), ...(actor.orgRoles[t === "C" ? "other" : "own"] ?? [])];
          const allowed = rolesGrant(roles, permission) || (Boolean(actor.ownsA) && t === "A" && rolesGrant(["PROJECT_OWNER"], permission));
          const before = (await d.cache.get(d.instanceId, "project", x.projectId)).sequence;
          const grantBefore = (await d.cache.get(d.instanceId, "usergrant", x.grantId)).sequence;
          const call = (clients[service] as unknown as Record<string, (r: unknown) => Promise<unknown>>)[method]!;
          const err = await errorOf(call(request(method, x)));
          const refused = err !== undefined && AUTHZ_IDS.some((id) => err.rawMessage.includes(id));
          const label = `${actor.name} ${method} on ${t}`;
          if (refused === allowed) failures.push(`${label}: want ${allowed ? "allowed" : "refused"}, got ${err ? `${Code[err.code]} ${err.rawMessage}` : "success"}`);
          if (!allowed && refused) {
            expect([Code.NotFound, Code.PermissionDenied], label).toContain(err.code);
            expect((await d.cache.get(d.instanceId, "project", x.projectId)).sequence, `${label} wrote`).toBe(before);
            expect((await d.cache.get(d.instanceId, "usergrant", x.grantId)).sequence, `${label} wrote`).toBe(grantBefore);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("CreateProject needs project.create in the named org", async () => {
    for (const actor of actors) {
      for (const [org, key] of [
        [own, "own"],
        [other, "other"],
      ] as const) {
        const err = await errorOf(projectServiceV2beta(s.url, "connect", actor.pat).createProject({ organizationId: org, name: `create-${++n}` }));
        const allowed = rolesGrant([...(actor.iamRoles ?? []), ...(actor.orgRoles[key] ?? [])], "project.create");
        expect(err === undefined, `${actor.name} in ${key}: ${err?.rawMessage}`).toBe(allowed);
      }
    }
  });

  it("searches list only what the caller may read: a PROJECT_OWNER sees its project's things and nothing else", async () => {
    const xs = { A: await target("A"), B: await target("B"), C: await target("C") };
    const ids = Object.values(xs).map((x) => x.projectId);
    const admin = appServiceV2beta(s.url, "connect", s.pat);
    for (const x of Object.values(xs)) await admin.createApplicationKey({ projectId: x.projectId, appId: x.appId, expirationDate: inAnHour() });
    for (const actor of actors) {
      const may = (t: Target, permission: string) =>
        rolesGrant([...(actor.iamRoles ?? []), ...(actor.orgRoles[t === "C" ? "other" : "own"] ?? [])], permission) || (Boolean(actor.ownsA) && t === "A");
      const want = (permission: string) => (["A", "B", "C"] as const).filter((t) => may(t, permission)).map((t) => xs[t].projectId).sort();
      const projects = await projectServiceV2beta(s.url, "connect", actor.pat).listProjects({ filters: [{ filter: { case: "inProjectIdsFilter", value: { ids } } }] });
      expect(projects.projects.map((p) => p.id).sort(), `${actor.name} ListProjects`).toEqual(want("project.read"));
      const authz = await authorizationServiceV2beta(s.url, "connect", actor.pat).listAuthorizations({});
      const grantProjects = [...new Set(authz.authorizations.map((a) => a.projectId).filter((p) => ids.includes(p)))].sort();
      expect(grantProjects, `${actor.name} ListAuthorizations`).toEqual(want("user.grant.read"));
      const keys = await appServiceV2beta(s.url, "connect", actor.pat).listApplicationKeys({});
      expect([...new Set(keys.keys.map((k) => k.projectId).filter((p) => ids.includes(p)))].sort(), `${actor.name} ListApplicationKeys`).toEqual(want("project.app.read"));
      const grants = await projectServiceV2beta(s.url, "connect", actor.pat).listProjectGrants({ filters: [{ filter: { case: "inProjectIdsFilter", value: { ids } } }] });
      const seen = [...new Set(grants.projectGrants.map((g) => g.projectId))].sort();
      // the granted org sees the grants made to it too
      const grantedTo = (["A", "B", "C"] as const).filter((t) => rolesGrant([...(actor.iamRoles ?? []), ...(actor.orgRoles[xs[t].third === other ? "other" : "own"] ?? [])], "project.grant.read"));
      expect(seen, `${actor.name} ListProjectGrants`).toEqual([...new Set([...want("project.grant.read"), ...grantedTo.map((t) => xs[t].projectId)])].sort());
    }
  });
});
