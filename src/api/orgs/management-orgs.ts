import type {
  AddOrgMemberRequest,
  AddOrgRequest,
  ListOrgChangesRequest,
  ListOrgMembersRequest,
  RemoveOrgMemberRequest,
  UpdateOrgMemberRequest,
  UpdateOrgRequest,
} from "@zitadel/proto/zitadel/management_pb.js";
import * as members from "../../app/orgs/org-members.js";
import * as queries from "../../app/orgs/org-queries.js";
import * as orgs from "../../app/orgs/orgs.js";
import { orgMemberRolesOffered } from "../../domain/orgs/roles.js";
import type { ServiceHandlers } from "../pipeline.js";
import { changeMessages, listDetails, objectDetails } from "../users/mappers.js";
import { listInput, memberMessage, orgMessage, toMemberQueries } from "./mappers.js";


/** The org part of zitadel.management.v1.ManagementService; every RPC acts on the org chosen by authorization. */
export const orgHandlers: ServiceHandlers = {
  async getIAM(ctx) {
    const instance = await ctx.deps.cache.get(ctx.deps.instanceId, "instance", ctx.deps.instanceId);
    return { globalOrgId: instance.defaultOrgId, iamProjectId: instance.projectId, defaultOrgId: instance.defaultOrgId };
  },
  async getMyOrg(ctx) {
    return { org: orgMessage(await queries.getOrgById(ctx.deps, ctx.caller.orgId)) };
  },
  async addOrg(ctx, req: AddOrgRequest) {
    const r = await orgs.addOrg(ctx.deps, ctx.caller, req.name);
    return { id: r.id, details: objectDetails(r.details) };
  },
  async updateOrg(ctx, req: UpdateOrgRequest) {
    return { details: objectDetails(await orgs.updateOrg(ctx.deps, ctx.caller, req.name)) };
  },
  async deactivateOrg(ctx) {
    return { details: objectDetails(await orgs.deactivateOrg(ctx.deps, ctx.caller)) };
  },
  async reactivateOrg(ctx) {
    return { details: objectDetails(await orgs.reactivateOrg(ctx.deps, ctx.caller)) };
  },
  async removeOrg(ctx) {
    return { details: objectDetails(await orgs.removeOrg(ctx.deps, ctx.caller)) };
  },
  async listOrgChanges(ctx, req: ListOrgChangesRequest) {
    const events = await queries.listOrgChanges(ctx.deps, ctx.caller, {
      sequence: Number(req.query?.sequence ?? 0n),
      limit: req.query?.limit ?? 0,
      asc: req.query?.asc ?? false,
    });
    return { result: await changeMessages(ctx.deps, events) };
  },

  /** The configured ORG_* roles, plus SELF_MANAGEMENT_GLOBAL in the instance's default org (query/member_roles.go); AddOrgMember accepts the same. */
  async listOrgMemberRoles(ctx) {
    const instance = await ctx.deps.cache.get(ctx.deps.instanceId, "instance", ctx.deps.instanceId);
    return { result: [...orgMemberRolesOffered(ctx.caller.orgId === instance.defaultOrgId)] };
  },
  async listOrgMembers(ctx, req: ListOrgMembersRequest) {
    const r = await queries.listMembers(ctx.deps, { type: "org", id: ctx.caller.orgId }, listInput(req.query), toMemberQueries(req.queries));
    return { details: listDetails(r.meta), result: r.members.map(memberMessage) };
  },
  async addOrgMember(ctx, req: AddOrgMemberRequest) {
    return { details: objectDetails(await members.addOrgMember(ctx.deps, ctx.caller, req.userId, req.roles)) };
  },
  async updateOrgMember(ctx, req: UpdateOrgMemberRequest) {
    return { details: objectDetails(await members.updateOrgMember(ctx.deps, ctx.caller, req.userId, req.roles)) };
  },
  async removeOrgMember(ctx, req: RemoveOrgMemberRequest) {
    return { details: objectDetails(await members.removeOrgMember(ctx.deps, ctx.caller, req.userId)) };
  },
};
