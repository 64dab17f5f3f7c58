import { notFound } from "../../domain/errors.js";
import type { GrantedProjectQuery, ProjectGrantQuery, ProjectGrantRow, ProjectGrantSearchQuery, VisibleScope } from "../../store/read-models/index.js";
import type { Caller, Deps } from "../core/context.js";
import { listPage, type ListInput } from "../core/list-page.js";

/**
 * Reads of project grants (read model proj_project_grants): from the granting org's side (the
 * project's org: GetProjectGrantByID, ListProjectGrants) and from the granted org's side
 * (GetGrantedProjectByID, ListGrantedProjects). The org is the one the request acts on.
 */

export type { GrantedProjectQuery, ProjectGrantQuery, ProjectGrantRow, ProjectGrantSearchQuery } from "../../store/read-models/index.js";

const grantNotFound = () => notFound("QUERY-n98GGs", "Errors.ProjectGrant.NotFound");

/**
 * GetProjectGrantByID: a grant of a project of the caller's org. ZITADEL looks the grant up by its id
 * alone; here the project and the org must match too (another org's grant is not found).
 */
export async function getProjectGrantById(deps: Deps, caller: Caller, projectId: string, grantId: string): Promise<ProjectGrantRow> {
  const row = await deps.reads.projectGrants.byId(deps.instanceId, caller.orgId, projectId, grantId);
  if (!row) throw grantNotFound();
  return row;
}

/** GetGrantedProjectByID: a grant made to the caller's org. */
export async function getGrantedProjectById(deps: Deps, caller: Caller, projectId: string, grantId: string): Promise<ProjectGrantRow> {
  const row = await deps.reads.projectGrants.grantedById(deps.instanceId, caller.orgId, projectId, grantId);
  if (!row) throw grantNotFound();
  return row;
}

/** ListProjectGrants: the grants of one project of the caller's org (none for another org's project). */
export async function listProjectGrants(deps: Deps, caller: Caller, projectId: string, list: ListInput, queries: ProjectGrantQuery[]) {
  const page = await listPage(deps, list, (p) => deps.reads.projectGrants.listOfProject(deps.instanceId, caller.orgId, projectId, queries, p));
  return { grants: page.items, meta: page.meta };
}

/** ListGrantedProjects: the projects other orgs granted to the caller's org, one entry per grant. */
export async function listGrantedProjects(deps: Deps, caller: Caller, list: ListInput, queries: GrantedProjectQuery[]) {
  const page = await listPage(deps, list, (p) => deps.reads.projectGrants.listGranted(deps.instanceId, caller.orgId, queries, p));
  return { grants: page.items, meta: page.meta };
}

/** v2beta ListProjectGrants: the grants of the projects the caller may read and those made to its orgs (`scope`). */
export async function searchProjectGrants(deps: Deps, scope: VisibleScope, list: ListInput, queries: ProjectGrantSearchQuery[]) {
  const page = await listPage(deps, list, (p) => deps.reads.projectGrants.listIn(deps.instanceId, scope, queries, list.asc, p));
  return { grants: page.items, meta: page.meta };
}
