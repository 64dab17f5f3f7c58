import type {
  AddProjectMemberRequest,
  AddProjectRequest,
  AddProjectRoleRequest,
  BulkAddProjectRolesRequest,
  DeactivateProjectRequest,
  GetProjectByIDRequest,
  ListProjectChangesRequest,
  ListProjectMembersRequest,
  ListProjectRolesRequest,
  ListProjectsRequest,
  ReactivateProjectRequest,
  RemoveProjectMemberRequest,
  RemoveProjectRequest,
  RemoveProjectRoleRequest,
  UpdateProjectMemberRequest,
  UpdateProjectRequest,
  UpdateProjectRoleRequest,
} from "@zitadel/proto/zitadel/management_pb.js";
import { listMeta } from "../../app/core/list-page.js";
import * as members from "../../app/projects/project-members.js";
import * as queries from "../../app/projects/project-queries.js";
import * as roles from "../../app/projects/project-roles.js";
import * as projects from "../../app/projects/projects.js";
import { PROJECT_ROLES } from "../../domain/orgs/roles.js";
import { listInput, memberMessage, toMemberQueries } from "../orgs/mappers.js";
import type { ServiceHandlers } from "../pipeline.js";
import { changeMessages, listDetails, objectDetails } from "../users/mappers.js";
import { projectMessage, roleMessage, toProjectQueries, toRoleQueries } from "./mappers.js";

const settings = (req: AddProjectRequest | UpdateProjectRequest) => ({
  name: req.name,
  projectRoleAssertion: req.projectRoleAssertion,
  projectRoleCheck: req.projectRoleCheck,
  hasProjectCheck: req.hasProjectCheck,
  privateLabelingSetting: req.privateLabelingSetting,
});

/** The project part of zitadel.management.v1.ManagementService: projects of the org chosen by authorization, their roles and members. */
export const projectHandlers: ServiceHandlers = {
  async addProject(ctx, req: AddProjectRequest) {
    const r = await projects.addProject(ctx.deps, ctx.caller, settings(req));
    return { id: r.id, details: objectDetails(r.details) };
  },
  async getProjectByID(ctx, req: GetProjectByIDRequest) {
    return { project: projectMessage(await queries.getProjectById(ctx.deps, ctx.caller, req.id)) };
  },
  async listProjects(ctx, req: ListProjectsRequest) {
    const r = await queries.listProjects(ctx.deps, ctx.caller, listInput(req.query), toProjectQueries(req.queries));
    return { details: listDetails(r.meta), result: r.projects.map(projectMessage) };
  },
  async updateProject(ctx, req: UpdateProjectRequest) {
    return { details: objectDetails(await projects.updateProject(ctx.deps, ctx.caller, req.id, settings(req))) };
  },
  async deactivateProject(ctx, req: DeactivateProjectRequest) {
    return { details: objectDetails(await projects.deactivateProject(ctx.deps, ctx.caller, req.id)) };
  },
  async reactivateProject(ctx, req: ReactivateProjectRequest) {
    return { details: objectDetails(await projects.reactivateProject(ctx.deps, ctx.caller, req.id)) };
  },
  async removeProject(ctx, req: RemoveProjectRequest) {
    return { details: objectDetails(await projects.removeProject(ctx.deps, ctx.caller, req.id)) };
  },
  async listProjectChanges(ctx, req: ListProjectChangesRequest) {
    const events = await queries.listProjectChanges(ctx.deps, ctx.caller, req.projectId, {
      sequence: Number(req.query?.sequence ?? 0n),
      limit: req.query?.limit ?? 0,
      asc: req.query?.asc ?? false,
    });
    return { result: await changeMessages(ctx.deps, events) };
  },

  async addProjectRole(ctx, req: AddProjectRoleRequest) {
    const role = { key: req.roleKey, displayName: req.displayName, group: req.group };
    return { details: objectDetails(await roles.addProjectRoles(ctx.deps, ctx.caller, req.projectId, [role], false)) };
  },
  async bulkAddProjectRoles(ctx, req: BulkAddProjectRolesRequest) {
    const input = req.roles.map((r) => ({ key: r.key, displayName: r.displayName, group: r.group }));
    return { details: objectDetails(await roles.addProjectRoles(ctx.deps, ctx.caller, req.projectId, input, true)) };
  },
  async updateProjectRole(ctx, req: UpdateProjectRoleRequest) {
    const role = { key: req.roleKey, displayName: req.displayName, group: req.group };
    return { details: objectDetails(await roles.updateProjectRole(ctx.deps, ctx.caller, req.projectId, role)) };
  },
  async removeProjectRole(ctx, req: RemoveProjectRoleRequest) {
    return { details: objectDetails(await roles.removeProjectRole(ctx.deps, ctx.caller, req.projectId, req.roleKey)) };
  },
  async listProjectRoles(ctx, req: ListProjectRolesRequest) {
    const r = await queries.listProjectRoles(ctx.deps, ctx.caller, req.projectId, listInput(req.query), toRoleQueries(req.queries));
    return { details: listDetails(r.meta), result: r.roles.map(roleMessage) };
  },

  /** The PROJECT_* manager roles Portcullis offers (domain/orgs/roles.ts); Add/UpdateProjectMember accept the same. */
  async listProjectMemberRoles(ctx) {
    return { details: listDetails(await listMeta(ctx.deps, PROJECT_ROLES.length)), result: [...PROJECT_ROLES] };
  },
  async listProjectMembers(ctx, req: ListProjectMembersRequest) {
    const r = await queries.listProjectMembers(ctx.deps, ctx.caller, req.projectId, listInput(req.query), toMemberQueries(req.queries));
    return { details: listDetails(r.meta), result: r.members.map(memberMessage) };
  },
  async addProjectMember(ctx, req: AddProjectMemberRequest) {
    return { details: objectDetails(await members.addProjectMember(ctx.deps, ctx.caller, req.projectId, req.userId, req.roles)) };
  },
  async updateProjectMember(ctx, req: UpdateProjectMemberRequest) {
    return { details: objectDetails(await members.updateProjectMember(ctx.deps, ctx.caller, req.projectId, req.userId, req.roles)) };
  },
  async removeProjectMember(ctx, req: RemoveProjectMemberRequest) {
    return { details: objectDetails(await members.removeProjectMember(ctx.deps, ctx.caller, req.projectId, req.userId)) };
  },
};
