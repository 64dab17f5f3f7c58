import type { ProjectQuery as ProjectQueryPb, RoleQuery } from "@zitadel/proto/zitadel/project_pb.js";
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
