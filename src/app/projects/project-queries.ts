import { notFound } from "../../domain/errors.js";
import type { StoredEvent } from "../../domain/events.js";
import type { MemberQuery, ProjectQuery, ProjectRoleQuery, ProjectRoleRow, ProjectRow, ProjectSearchQuery, ProjectSort, VisibleScope } from "../../store/read-models/index.js";
import type { Caller, Deps } from "../core/context.js";
import { listPage, type ListInput } from "../core/list-page.js";
import { listMembers } from "../orgs/org-queries.js";
import type { ChangeInput } from "../users/user-queries.js";

/** Reads of projects, their roles and members (read models proj_projects, proj_project_roles, proj_members). */

export type { ProjectQuery, ProjectRoleQuery, ProjectRoleRow, ProjectRow, ProjectSearchQuery, ProjectSort } from "../../store/read-models/index.js";

/** GetProjectByID: a project of the org the request acts on; removed, another org's or unknown: QUERY-fk2fs. */
export async function getProjectById(deps: Deps, caller: Caller, id: string): Promise<ProjectRow> {
  const row = await deps.reads.projects.byId(deps.instanceId, caller.orgId, id);
  if (!row) throw notFound("QUERY-fk2fs", "Errors.Project.NotFound");
  return row;
}

/** ListProjects: the org's projects, queries AND-ed, in creation order. */
export async function listProjects(deps: Deps, caller: Caller, list: ListInput, queries: ProjectQuery[]) {
  const page = await listPage(deps, list, (p) => deps.reads.projects.list(deps.instanceId, caller.orgId, queries, p));
  return { projects: page.items, meta: page.meta };
}

/** ListProjectRoles: the roles of a project of the org (none for an unknown project, as ZITADEL's search). */
export async function listProjectRoles(deps: Deps, caller: Caller, projectId: string, list: ListInput, queries: ProjectRoleQuery[]) {
  const project = await deps.reads.projects.byId(deps.instanceId, caller.orgId, projectId);
  const page = await listPage(deps, list, (p) => (project ? deps.reads.projects.listRoles(deps.instanceId, projectId, queries, p) : Promise.resolve({ items: [] as ProjectRoleRow[], total: 0 })));
  return { roles: page.items, meta: page.meta };
}

/** ListProjectMembers: the members of a project of the org (none for an unknown one). */
export async function listProjectMembers(deps: Deps, caller: Caller, projectId: string, list: ListInput, queries: MemberQuery[]) {
  const project = await deps.reads.projects.byId(deps.instanceId, caller.orgId, projectId);
  return listMembers(deps, { type: "project", id: project ? projectId : "" }, list, queries);
}

/** ListProjectChanges: the events of the project aggregate owned by the org (newest first unless asc). */
export async function listProjectChanges(deps: Deps, caller: Caller, projectId: string, q: ChangeInput): Promise<StoredEvent[]> {
  if (!Number.isSafeInteger(q.sequence)) return [];
  return deps.reads.changes.ofAggregate(deps.instanceId, "project", projectId, caller.orgId, { afterSequence: q.sequence, limit: q.limit, asc: q.asc });
}

/** v2beta ListProjects: the projects the caller may read (`scope`), queries AND-ed. */
export async function searchProjects(deps: Deps, scope: VisibleScope, list: ListInput, sort: ProjectSort, queries: ProjectSearchQuery[]) {
  const page = await listPage(deps, list, (p) => deps.reads.projects.listIn(deps.instanceId, scope, queries, { by: sort, asc: list.asc }, p));
  return { projects: page.items, meta: page.meta };
}
