import type {
  AddUserGrantRequest,
  BulkRemoveUserGrantRequest,
  DeactivateUserGrantRequest,
  GetUserGrantByIDRequest,
  ListUserGrantRequest,
  ReactivateUserGrantRequest,
  RemoveUserGrantRequest,
  UpdateUserGrantRequest,
} from "@zitadel/proto/zitadel/management_pb.js";
import type { ScopedTarget } from "../../app/core/authz.js";
import type { Deps } from "../../app/core/context.js";
import * as queries from "../../app/usergrants/user-grant-queries.js";
import * as grants from "../../app/usergrants/user-grants.js";
import { listInput } from "../orgs/mappers.js";
import { scoped, type ServiceHandlers } from "../pipeline.js";
import { listDetails, objectDetails } from "../users/mappers.js";
import { toUserGrantQueries, userGrantMessage } from "./mappers.js";

/**
 * The project a grant-id request acts on, for project-scoped permissions (ZITADEL's
 * checkExplicitProjectPermission: a PROJECT_OWNER may manage the user grants of its project only).
 */
const grantProject = async (deps: Deps, req: { grantId: string }): Promise<ScopedTarget | undefined> => {
  if (!req.grantId) return undefined;
  const g = await deps.cache.get(deps.instanceId, "usergrant", req.grantId);
  return g.exists ? { type: "project", id: g.projectId } : undefined;
};

/** The user-grant part of zitadel.management.v1.ManagementService (user.grant.* permissions). */
export const userGrantHandlers: ServiceHandlers = {
  addUserGrant: scoped(
    (_deps, req: AddUserGrantRequest) => (req.projectId ? { type: "project", id: req.projectId } : undefined),
    async (ctx, req: AddUserGrantRequest) => {
      const r = await grants.addUserGrant(ctx.deps, ctx.caller, { userId: req.userId, projectId: req.projectId, projectGrantId: req.projectGrantId, roleKeys: req.roleKeys });
      return { userGrantId: r.id, details: objectDetails(r.details) };
    },
  ),
  getUserGrantByID: scoped(grantProject, async (ctx, req: GetUserGrantByIDRequest) => ({
    userGrant: userGrantMessage(await queries.getUserGrantById(ctx.deps, ctx.caller, req.grantId)),
  })),
  listUserGrants: scoped(
    (_deps, req: ListUserGrantRequest) => {
      const p = req.queries.find((q) => q.query.case === "projectIdQuery")?.query.value as { projectId: string } | undefined;
      return p?.projectId ? { type: "project", id: p.projectId } : undefined;
    },
    async (ctx, req: ListUserGrantRequest) => {
      const q = toUserGrantQueries(req.queries);
      const r = await queries.listUserGrants(ctx.deps, ctx.caller, listInput(req.query), q.withGranted, q.queries);
      return { details: listDetails(r.meta), result: r.grants.map(userGrantMessage) };
    },
  ),
  updateUserGrant: scoped(grantProject, async (ctx, req: UpdateUserGrantRequest) => ({
    details: objectDetails(await grants.updateUserGrant(ctx.deps, ctx.caller, req.grantId, req.roleKeys)),
  })),
  deactivateUserGrant: scoped(grantProject, async (ctx, req: DeactivateUserGrantRequest) => ({
    details: objectDetails(await grants.deactivateUserGrant(ctx.deps, ctx.caller, req.grantId)),
  })),
  reactivateUserGrant: scoped(grantProject, async (ctx, req: ReactivateUserGrantRequest) => ({
    details: objectDetails(await grants.reactivateUserGrant(ctx.deps, ctx.caller, req.grantId)),
  })),
  removeUserGrant: scoped(grantProject, async (ctx, req: RemoveUserGrantRequest) => ({
    details: objectDetails(await grants.removeUserGrant(ctx.deps, ctx.caller, req.grantId)),
  })),
  async bulkRemoveUserGrant(ctx, req: BulkRemoveUserGrantRequest) {
    await grants.bulkRemoveUserGrants(ctx.deps, ctx.caller, req.grantId);
    return {};
  },
};
