import type {
  ActivateProjectGrantRequest,
  ActivateProjectRequest,
  AddProjectRoleRequest,
  CreateProjectGrantRequest,
  CreateProjectRequest,
  DeactivateProjectGrantRequest,
  DeactivateProjectRequest,
  DeleteProjectGrantRequest,
  DeleteProjectRequest,
  GetProjectRequest,
  ListProjectGrantsRequest,
  ListProjectRolesRequest,
  ListProjectsRequest,
  RemoveProjectRoleRequest,
  UpdateProjectGrantRequest,
  UpdateProjectRequest,
  UpdateProjectRoleRequest,
} from "@zitadel/proto/zitadel/project/v2beta/project_service_pb.js";
import type { ProjectGrantSearchFilter, ProjectSearchFilter, ProjectRoleSearchFilter } from "@zitadel/proto/zitadel/project/v2beta/query_pb.js";
import { authorizeInOrg, visibleScope } from "../../app/core/authz.js";
import * as grantQueries from "../../app/projects/project-grant-queries.js";
import * as grants from "../../app/projects/project-grants.js";
import * as queries from "../../app/projects/project-queries.js";
import * as roles from "../../app/projects/project-roles.js";
import * as projects from "../../app/projects/projects.js";
import { invalidArgument, notFound } from "../../domain/errors.js";
import type { ProjectState } from "../../domain/projects/project.js";
import type { CallContext, ServiceHandlers } from "../pipeline.js";
import { paginationInput, ts } from "../users/mappers.js";
import { eventDate } from "../users/v2-mappers.js";
import { onProject } from "./v2beta-authz.js";
import { pagination, v2betaProject, v2betaProjectGrant, v2betaRole } from "./v2beta-mappers.js";

/**
 * zitadel.project.v2beta.ProjectService (ZITADEL internal/api/grpc/project/v2beta): the same commands
 * and read models as ManagementService's projects, roles and project grants, authorized as v2 does —
 * in the project's org (or the org CreateProject names), where the project's own memberships count.
 */

const projectNotFound = () => notFound("COMMAND-3M9sd", "Errors.Project.NotFound");

function toProjectQuery(f: ProjectSearchFilter): queries.ProjectSearchQuery {
  const c = f.filter;
  switch (c.case) {
    case "projectNameFilter":
      return { kind: "name", name: c.value.projectName, method: c.value.method };
    case "inProjectIdsFilter":
      return { kind: "ids", ids: c.value.ids };
    case "projectResourceOwnerFilter":
    case "projectOrganizationIdFilter":
      return { kind: "resourceOwner", orgId: c.value.id };
    case "projectGrantResourceOwnerFilter":
      return { kind: "grantedTo", orgId: c.value.id };
    default:
      throw invalidArgument("PROJECT-vR9nC", "List.Query.Invalid");
  }
}

function toRoleQuery(f: ProjectRoleSearchFilter): queries.ProjectRoleQuery {
  const c = f.filter;
  switch (c.case) {
    case "roleKeyFilter":
      return { kind: "key", key: c.value.key, method: c.value.method };
    case "displayNameFilter":
      return { kind: "displayName", displayName: c.value.displayName, method: c.value.method };
    default:
      throw invalidArgument("PROJECT-fms0e", "List.Query.Invalid");
  }
}

function toGrantQuery(f: ProjectGrantSearchFilter): grantQueries.ProjectGrantSearchQuery {
  const c = f.filter;
  switch (c.case) {
    case "projectNameFilter":
      return { kind: "projectName", name: c.value.projectName, method: c.value.method };
    case "roleKeyFilter":
      return { kind: "roleKey", key: c.value.key, method: c.value.method };
    case "inProjectIdsFilter":
      return { kind: "projectIds", ids: c.value.ids };
    case "projectResourceOwnerFilter":
      return { kind: "resourceOwner", orgId: c.value.id };
    case "projectGrantResourceOwnerFilter":
      return { kind: "grantedOrg", orgId: c.value.id };
    default:
      throw invalidArgument("PROJECT-M099f", "List.Query.Invalid");
  }
}

/** ProjectFieldName → sort (unspecified: creation date). */
const projectSorts: Record<number, queries.ProjectSort> = { 1: "id", 2: "createdAt", 3: "changedAt", 4: "name" };

/** The id of the project's grant to that org (v2beta names a grant by project and granted org). */
function grantIdOf(project: ProjectState, grantedOrgId: string): string {
  for (const g of project.grants.values()) if (g.grantedOrgId === grantedOrgId) return g.grantId;
  throw notFound("PROJECT-D8JxR", "Errors.Project.Grant.NotFound");
}

async function onGrant(ctx: CallContext, req: { projectId: string; grantedOrganizationId: string }, permission: string) {
  const { caller, project } = await onProject(ctx, req.projectId, permission);
  if (!project.exists) throw notFound("PROJECT-D8JxR", "Errors.Project.Grant.NotFound");
  return { caller, grantId: grantIdOf(project, req.grantedOrganizationId) };
}

export const projectV2betaHandlers: ServiceHandlers = {
  /** project.create in the named org; authorization_required / project_access_required are v1's projectRoleCheck / hasProjectCheck. */
  async createProject(ctx, req: CreateProjectRequest) {
    const caller = await authorizeInOrg(ctx.deps, ctx.principal, req.organizationId, "project.create");
    const r = await projects.addProject(
      ctx.deps,
      caller,
      {
        name: req.name,
        projectRoleAssertion: req.projectRoleAssertion,
        projectRoleCheck: req.authorizationRequired,
        hasProjectCheck: req.projectAccessRequired,
        privateLabelingSetting: req.privateLabelingSetting,
      },
      { projectId: req.id },
    );
    return { id: r.id, creationDate: eventDate(r.details) };
  },

  /** The fields given; none different writes nothing and answers the project's change date (ZITADEL's ChangeProject). */
  async updateProject(ctx, req: UpdateProjectRequest) {
    const { caller, project: p } = await onProject(ctx, req.id, "project.write");
    if (req.name !== undefined && !req.name.trim()) throw invalidArgument("COMMAND-4m9vS", "Errors.Project.Invalid");
    if (!p.exists) throw projectNotFound();
    const settings = {
      name: req.name ?? p.name,
      projectRoleAssertion: req.projectRoleAssertion ?? p.projectRoleAssertion,
      projectRoleCheck: req.projectRoleCheck ?? p.projectRoleCheck,
      hasProjectCheck: req.hasProjectCheck ?? p.hasProjectCheck,
      privateLabelingSetting: req.privateLabelingSetting ?? p.privateLabelingSetting,
    };
    const same = (Object.keys(settings) as (keyof typeof settings)[]).every((k) => (k === "name" ? settings.name.trim() === p.name : settings[k] === p[k]));
    if (same) return { changeDate: ts(p.changedAt ?? p.createdAt ?? new Date(0)) };
    return { changeDate: eventDate(await projects.updateProject(ctx.deps, caller, req.id, settings)) };
  },

  async deleteProject(ctx, req: DeleteProjectRequest) {
    const { caller } = await onProject(ctx, req.id, "project.delete");
    return { deletionDate: eventDate(await projects.removeProject(ctx.deps, caller, req.id)) };
  },

  async getProject(ctx, req: GetProjectRequest) {
    const { caller } = await onProject(ctx, req.id, "project.read");
    return { project: v2betaProject(await queries.getProjectById(ctx.deps, caller, req.id)) };
  },

  /** The projects the caller may read: of the orgs where it holds project.read, and those it is a member of. */
  async listProjects(ctx, req: ListProjectsRequest) {
    const scope = await visibleScope(ctx.deps, ctx.principal, "project.read");
    const list = paginationInput(req.pagination);
    const r = await queries.searchProjects(ctx.deps, scope, list, projectSorts[req.sortingColumn ?? 0] ?? "createdAt", req.filters.map(toProjectQuery));
    return { pagination: pagination(r.meta, list.limit), projects: r.projects.map(v2betaProject) };
  },

  async deactivateProject(ctx, req: DeactivateProjectRequest) {
    const { caller } = await onProject(ctx, req.id, "project.write");
    return { changeDate: eventDate(await projects.deactivateProject(ctx.deps, caller, req.id)) };
  },
  async activateProject(ctx, req: ActivateProjectRequest) {
    const { caller } = await onProject(ctx, req.id, "project.write");
    return { changeDate: eventDate(await projects.reactivateProject(ctx.deps, caller, req.id)) };
  },

  async addProjectRole(ctx, req: AddProjectRoleRequest) {
    const { caller } = await onProject(ctx, req.projectId, "project.role.write");
    const role = { key: req.roleKey, displayName: req.displayName, group: req.group ?? "" };
    return { creationDate: eventDate(await roles.addProjectRoles(ctx.deps, caller, req.projectId, [role], false)) };
  },
  /** The display name and group given; the others stay. */
  async updateProjectRole(ctx, req: UpdateProjectRoleRequest) {
    const { caller, project } = await onProject(ctx, req.projectId, "project.role.write");
    const current = project.roles.get(req.roleKey);
    const role = { key: req.roleKey, displayName: req.displayName ?? current?.displayName ?? "", group: req.group ?? current?.group ?? "" };
    return { changeDate: eventDate(await roles.updateProjectRole(ctx.deps, caller, req.projectId, role)) };
  },
  async removeProjectRole(ctx, req: RemoveProjectRoleRequest) {
    const { caller } = await onProject(ctx, req.projectId, "project.role.delete");
    return { removalDate: eventDate(await roles.removeProjectRole(ctx.deps, caller, req.projectId, req.roleKey)) };
  },
  async listProjectRoles(ctx, req: ListProjectRolesRequest) {
    const { caller } = await onProject(ctx, req.projectId, "project.role.read");
    const list = paginationInput(req.pagination);
    const r = await queries.listProjectRoles(ctx.deps, caller, req.projectId, list, req.filters.map(toRoleQuery));
    return { pagination: pagination(r.meta, list.limit), projectRoles: r.roles.map(v2betaRole) };
  },

  async createProjectGrant(ctx, req: CreateProjectGrantRequest) {
    const { caller } = await onProject(ctx, req.projectId, "project.grant.write");
    const r = await grants.addProjectGrant(ctx.deps, caller, req.projectId, req.grantedOrganizationId, req.roleKeys);
    return { creationDate: eventDate(r.details) };
  },
  async updateProjectGrant(ctx, req: UpdateProjectGrantRequest) {
    const { caller, grantId } = await onGrant(ctx, req, "project.grant.write");
    return { changeDate: eventDate(await grants.updateProjectGrant(ctx.deps, caller, req.projectId, grantId, req.roleKeys)) };
  },
  async deleteProjectGrant(ctx, req: DeleteProjectGrantRequest) {
    const { caller, grantId } = await onGrant(ctx, req, "project.grant.delete");
    return { deletionDate: eventDate(await grants.removeProjectGrant(ctx.deps, caller, req.projectId, grantId)) };
  },
  async deactivateProjectGrant(ctx, req: DeactivateProjectGrantRequest) {
    const { caller, grantId } = await onGrant(ctx, req, "project.grant.write");
    return { changeDate: eventDate(await grants.deactivateProjectGrant(ctx.deps, caller, req.projectId, grantId)) };
  },
  async activateProjectGrant(ctx, req: ActivateProjectGrantRequest) {
    const { caller, grantId } = await onGrant(ctx, req, "project.grant.write");
    return { changeDate: eventDate(await grants.reactivateProjectGrant(ctx.deps, caller, req.projectId, grantId)) };
  },
  /** The grants of the projects the caller may read, and the grants made to the orgs where it may. */
  async listProjectGrants(ctx, req: ListProjectGrantsRequest) {
    const scope = await visibleScope(ctx.deps, ctx.principal, "project.grant.read");
    const list = paginationInput(req.pagination);
    const r = await grantQueries.searchProjectGrants(ctx.deps, scope, list, req.filters.map(toGrantQuery));
    return { pagination: pagination(r.meta, list.limit), projectGrants: r.grants.map(v2betaProjectGrant) };
  },
};
