import type { ProjectGrantQuery as ProjectGrantQueryPb, ProjectQuery as ProjectQueryPb, RoleQuery } from "@zitadel/proto/zitadel/project_pb.js";
import type { GrantedProjectQuery, ProjectGrantQuery, ProjectGrantRow } from "../../app/projects/project-grant-queries.js";
import type { ProjectQuery, ProjectRoleQuery, ProjectRoleRow, ProjectRow } from "../../app/projects/project-queries.js";
import { invalidArgument } from "../../domain/errors.js";
import { ProjectStateNum } from "../../domain/projects/project.js";
import { readDetails } from "../users/mappers.js";

/** zitadel.project.v1.Project; the resource owner is the project's org. */
export const projectMessage = (p: ProjectRow) => ({
  id: p.id,
  details: readDetails(p.sequence, p.createdAt, p.changedAt, p.orgId),
  name: p.name,
  state: p.state === ProjectStateNum.removed ? ProjectStateNum.unspecified : p.state,
  projectRoleAssertion: p.projectRoleAssertion,
  projectRoleCheck: p.projectRoleCheck,
  hasProjectCheck: p.hasProjectCheck,
  privateLabelingSetting: p.privateLabelingSetting,
});

/** zitadel.project.v1.Role. */
export const roleMessage = (r: ProjectRoleRow) => ({
  key: r.key,
  details: readDetails(r.sequence, r.createdAt, r.changedAt, r.orgId),
  displayName: r.displayName,
  group: r.group,
});

/** zitadel.project.v1.ProjectQuery → ProjectQuery; an empty query is an invalid request (project converter). */
export function toProjectQueries(queries: ProjectQueryPb[]): ProjectQuery[] {
  return queries.map((q) => {
    switch (q.query.case) {
      case "nameQuery":
        return { kind: "name", name: q.query.value.name, method: q.query.value.method };
      case "projectResourceOwnerQuery":
        return { kind: "resourceOwner", orgId: q.query.value.resourceOwner };
      default:
        throw invalidArgument("PROJECT-vR9nC", "List.Query.Invalid");
    }
  });
}

/** zitadel.project.v1.RoleQuery → ProjectRoleQuery. */
export function toRoleQueries(queries: RoleQuery[]): ProjectRoleQuery[] {
  return queries.map((q) => {
    switch (q.query.case) {
      case "keyQuery":
        return { kind: "key", key: q.query.value.key, method: q.query.value.method };
      case "displayNameQuery":
        return { kind: "displayName", displayName: q.query.value.displayName, method: q.query.value.method };
      default:
        throw invalidArgument("PROJECT-fms0e", "List.Query.Invalid");
    }
  });
}

// project grants (PGRANT)

/** zitadel.project.v1.GrantedProject: the grant with its project and both orgs; the resource owner is the project's org. */
export const grantedProjectMessage = (g: ProjectGrantRow) => ({
  grantId: g.grantId,
  grantedOrgId: g.grantedOrgId,
  grantedOrgName: g.grantedOrgName,
  grantedRoleKeys: g.roleKeys,
  state: g.state,
  projectId: g.projectId,
  projectName: g.projectName,
  projectOwnerId: g.orgId,
  projectOwnerName: g.orgName,
  details: readDetails(g.sequence, g.createdAt, g.changedAt, g.orgId),
});

/** zitadel.project.v1.ProjectGrantQuery → ProjectGrantQuery. */
export function toProjectGrantQueries(queries: ProjectGrantQueryPb[]): ProjectGrantQuery[] {
  return queries.map((q) => {
    switch (q.query.case) {
      case "projectNameQuery":
        return { kind: "projectName", name: q.query.value.name, method: q.query.value.method };
      case "roleKeyQuery":
        return { kind: "roleKey", key: q.query.value.roleKey, method: q.query.value.method };
      default:
        throw invalidArgument("PROJECT-M099f", "List.Query.Invalid");
    }
  });
}

/** zitadel.project.v1.ProjectQuery as ListGrantedProjects takes it (the project's name and org). */
export function toGrantedProjectQueries(queries: ProjectQueryPb[]): GrantedProjectQuery[] {
  return toProjectQueries(queries);
}
