import type {
  AddProjectGrantRequest,
  DeactivateProjectGrantRequest,
  GetGrantedProjectByIDRequest,
  GetProjectGrantByIDRequest,
  ListGrantedProjectsRequest,
  ListProjectGrantsRequest,
  ReactivateProjectGrantRequest,
  RemoveProjectGrantRequest,
  UpdateProjectGrantRequest,
} from "@zitadel/proto/zitadel/management_pb.js";
import * as queries from "../../app/projects/project-grant-queries.js";
import * as grants from "../../app/projects/project-grants.js";
import type { ServiceHandlers } from "../pipeline.js";
import { listDetails, listInput, objectDetails } from "../users/mappers.js";
import { grantedProjectMessage, toGrantedProjectQueries, toProjectGrantQueries } from "./mappers.js";

/**
 * The project-grant part of zitadel.management.v1.ManagementService: grants of the org's projects to
 * other orgs, and (ListGrantedProjects, GetGrantedProjectByID) the projects other orgs granted to it.
 */
export const projectGrantHandlers: ServiceHandlers = {
  async addProjectGrant(ctx, req: AddProjectGrantRequest) {
    const r = await grants.addProjectGrant(ctx.deps, ctx.caller, req.projectId, req.grantedOrgId, req.roleKeys);
    return { grantId: r.grantId, details: objectDetails(r.details) };
  },
  async getProjectGrantByID(ctx, req: GetProjectGrantByIDRequest) {
    return { projectGrant: grantedProjectMessage(await queries.getProjectGrantById(ctx.deps, ctx.caller, req.projectId, req.grantId)) };
  },
  async listProjectGrants(ctx, req: ListProjectGrantsRequest) {
    const r = await queries.listProjectGrants(ctx.deps, ctx.caller, req.projectId, listInput(req.query), toProjectGrantQueries(req.queries));
    return { details: listDetails(r.meta), result: r.grants.map(grantedProjectMessage) };
  },
  async updateProjectGrant(ctx, req: UpdateProjectGrantRequest) {
    return { details: objectDetails(await grants.updateProjectGrant(ctx.deps, ctx.caller, req.projectId, req.grantId, req.roleKeys)) };
  },
  async deactivateProjectGrant(ctx, req: DeactivateProjectGrantRequest) {
    return { details: objectDetails(await grants.deactivateProjectGrant(ctx.deps, ctx.caller, req.projectId, req.grantId)) };
  },
  async reactivateProjectGrant(ctx, req: ReactivateProjectGrantRequest) {
    return { details: objectDetails(await grants.reactivateProjectGrant(ctx.deps, ctx.caller, req.projectId, req.grantId)) };
  },
  async removeProjectGrant(ctx, req: RemoveProjectGrantRequest) {
    return { details: objectDetails(await grants.removeProjectGrant(ctx.deps, ctx.caller, req.projectId, req.grantId)) };
  },

  async listGrantedProjects(ctx, req: ListGrantedProjectsRequest) {
    const r = await queries.listGrantedProjects(ctx.deps, ctx.caller, listInput(req.query), toGrantedProjectQueries(req.queries));
    return { details: listDetails(r.meta), result: r.grants.map(grantedProjectMessage) };
  },
  async getGrantedProjectByID(ctx, req: GetGrantedProjectByIDRequest) {
    return { grantedProject: grantedProjectMessage(await queries.getGrantedProjectById(ctx.deps, ctx.caller, req.projectId, req.grantId)) };
  },
};
