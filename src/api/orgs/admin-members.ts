import type { AddIAMMemberRequest, ListIAMMembersRequest, RemoveIAMMemberRequest, UpdateIAMMemberRequest } from "@zitadel/proto/zitadel/admin_pb.js";
import * as members from "../../app/orgs/instance-members.js";
import * as queries from "../../app/orgs/org-queries.js";
import { IAM_ROLES } from "../../domain/orgs/roles.js";
import { listDetails, objectDetails } from "../users/mappers.js";
import { listInput, memberMessage, toMemberQueries } from "./mappers.js";
import type { ServiceHandlers } from "../pipeline.js";

/** Instance (IAM) members of zitadel.admin.v1.AdminService (grpc/admin/iam_member.go). */
export const adminMemberHandlers: ServiceHandlers = {
  /** The configured IAM_* roles; ZITADEL also fills details with the count and "now". */
  listIAMMemberRoles(ctx) {
    return { roles: [...IAM_ROLES], details: listDetails({ totalResult: IAM_ROLES.length, processedSequence: 0, viewTimestamp: ctx.deps.clock() }) };
  },
  async listIAMMembers(ctx, req: ListIAMMembersRequest) {
    const scope = { type: "instance" as const, id: ctx.deps.instanceId };
    const r = await queries.listMembers(ctx.deps, scope, listInput(req.query), toMemberQueries(req.queries), req.sortingColumn);
    return { details: listDetails(r.meta), result: r.members.map(memberMessage) };
  },
  async addIAMMember(ctx, req: AddIAMMemberRequest) {
    return { details: objectDetails(await members.addInstanceMember(ctx.deps, ctx.caller, req.userId, req.roles)) };
  },
  async updateIAMMember(ctx, req: UpdateIAMMemberRequest) {
    return { details: objectDetails(await members.updateInstanceMember(ctx.deps, ctx.caller, req.userId, req.roles)) };
  },
  async removeIAMMember(ctx, req: RemoveIAMMemberRequest) {
    return { details: objectDetails(await members.removeInstanceMember(ctx.deps, ctx.caller, req.userId)) };
  },
};
