import type {
  ActivateAuthorizationRequest,
  CreateAuthorizationRequest,
  DeactivateAuthorizationRequest,
  DeleteAuthorizationRequest,
  ListAuthorizationsRequest,
  UpdateAuthorizationRequest,
} from "@zitadel/proto/zitadel/authorization/v2beta/authorization_service_pb.js";
import type { AuthorizationsSearchFilter } from "@zitadel/proto/zitadel/authorization/v2beta/authorization_pb.js";
import { authorizeInOrg, visibleScope } from "../../app/core/authz.js";
import type { Caller } from "../../app/core/context.js";
import * as queries from "../../app/usergrants/user-grant-queries.js";
import * as grants from "../../app/usergrants/user-grants.js";
import { invalidArgument } from "../../domain/errors.js";
import type { CallContext, ServiceHandlers } from "../pipeline.js";
import { pagination } from "../projects/v2beta-mappers.js";
import { paginationInput, ts } from "../users/mappers.js";
import { eventDate } from "../users/v2-mappers.js";

/**
 * zitadel.authorization.v2beta.AuthorizationService: user grants ("authorizations") on the same
 * commands and read model as ManagementService's user grants, authorized as ZITADEL's v2 commands do
 * (newUserGrantPermissionCheck): user.grant.* in the granting org, where a membership in the grant's
 * project counts too when the project is that org's own.
 */

/** zitadel.authorization.v2beta.Authorization. */
const authorizationMessage = (g: queries.UserGrantRow) => ({
  id: g.id,
  projectId: g.projectId,
  projectName: g.projectName,
  projectOrganizationId: g.projectOrgId,
  ...(g.projectGrantId ? { projectGrantId: g.projectGrantId, grantedOrganizationId: g.orgId } : {}),
  organizationId: g.orgId,
  creationDate: ts(g.createdAt),
  changeDate: ts(g.changedAt),
  state: g.state,
  user: { id: g.userId, preferredLoginName: g.userName, displayName: g.displayName, organizationId: g.userOrgId },
  roles: g.roleKeys,
});

function toQuery(f: AuthorizationsSearchFilter): queries.UserGrantQuery {
  const c = f.filter;
  switch (c.case) {
    case "authorizationIds":
      return { kind: "ids", ids: c.value.ids };
    case "organizationId":
      return { kind: "orgId", orgId: c.value.id };
    case "state":
      return { kind: "state", state: c.value.state };
    case "userId":
      return { kind: "userId", userId: c.value.id };
    case "userOrganizationId":
      return { kind: "userOrgId", orgId: c.value.id };
    case "userPreferredLoginName":
      return { kind: "text", field: "userName", value: c.value.loginName, method: c.value.method };
    case "userDisplayName":
      return { kind: "text", field: "displayName", value: c.value.displayName, method: c.value.method };
    case "projectId":
      return { kind: "projectId", projectId: c.value.id };
    case "projectName":
      return { kind: "text", field: "projectName", value: c.value.name, method: c.value.method };
    case "roleKey":
      return { kind: "roleKeyText", key: c.value.key, method: c.value.method };
    case "projectGrantId":
      return { kind: "projectGrantId", projectGrantId: c.value.id };
    default:
      throw invalidArgument("AUTHZ-q0ery", "List.Query.Invalid");
  }
}


/**
 * The Caller acting on an existing grant: authorized in the grant's org with its project as the
 * scoped target. An unknown grant gets a Caller in no org (the command answers its not-found error).
 */
async function onGrant(ctx: CallContext, grantId: string, permission: string): Promise<Caller> {
  const g = grantId ? await ctx.deps.cache.get(ctx.deps.instanceId, "usergrant", grantId) : undefined;
  if (!g?.exists) return { ...ctx.caller, orgId: "" };
  return authorizeInOrg(ctx.deps, ctx.principal, g.orgId, permission, { target: { type: "project", id: g.projectId } });
}

export const authorizationV2betaHandlers: ServiceHandlers = {
  /**
   * The grant is made by `organization_id`, or by the project's org when it is not given; that org
   * owns the project or holds a project grant of it (the v1 command resolves which).
   */
  async createAuthorization(ctx, req: CreateAuthorizationRequest) {
    const project = req.projectId ? await ctx.deps.cache.get(ctx.deps.instanceId, "project", req.projectId) : undefined;
    const orgId = req.organizationId || (project?.exists ? project.orgId : ctx.principal.orgId);
    const caller = await authorizeInOrg(ctx.deps, ctx.principal, orgId, "user.grant.write", { target: { type: "project", id: req.projectId } });
    const r = await grants.addUserGrant(ctx.deps, caller, { userId: req.userId, projectId: req.projectId, projectGrantId: "", roleKeys: req.roleKeys });
    return { id: r.id, creationDate: eventDate(r.details) };
  },
  async updateAuthorization(ctx, req: UpdateAuthorizationRequest) {
    const caller = await onGrant(ctx, req.id, "user.grant.write");
    return { changeDate: eventDate(await grants.updateUserGrant(ctx.deps, caller, req.id, req.roleKeys)) };
  },
  async deleteAuthorization(ctx, req: DeleteAuthorizationRequest) {
    const caller = await onGrant(ctx, req.id, "user.grant.delete");
    return { deletionDate: eventDate(await grants.removeUserGrant(ctx.deps, caller, req.id)) };
  },
  async activateAuthorization(ctx, req: ActivateAuthorizationRequest) {
    const caller = await onGrant(ctx, req.id, "user.grant.write");
    return { changeDate: eventDate(await grants.reactivateUserGrant(ctx.deps, caller, req.id)) };
  },
  async deactivateAuthorization(ctx, req: DeactivateAuthorizationRequest) {
    const caller = await onGrant(ctx, req.id, "user.grant.write");
    return { changeDate: eventDate(await grants.deactivateUserGrant(ctx.deps, caller, req.id)) };
  },
  /** The grants the caller may read: made by the orgs where it holds user.grant.read, or on the projects it is a member of. */
  async listAuthorizations(ctx, req: ListAuthorizationsRequest) {
    const scope = await visibleScope(ctx.deps, ctx.principal, "user.grant.read");
    const list = paginationInput(req.pagination);
    const r = await queries.searchUserGrants(ctx.deps, scope, list, req.filters.map(toQuery));
    return { pagination: pagination(r.meta, list.limit), authorizations: r.grants.map(authorizationMessage) };
  },
};
