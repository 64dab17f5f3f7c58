import type { ServiceHandlers } from "../pipeline.js";
import { readDetails } from "./mappers.js";

export const orgHandlers: ServiceHandlers = {
  async getIAM(ctx) {
    const instance = await ctx.deps.cache.get(ctx.deps.instanceId, "instance", ctx.deps.instanceId);
    return { globalOrgId: instance.defaultOrgId, iamProjectId: instance.projectId, defaultOrgId: instance.defaultOrgId };
  },
  async getMyOrg(ctx) {
    const org = await ctx.deps.cache.get(ctx.deps.instanceId, "org", ctx.caller.orgId);
    return {
      org: {
        id: org.id,
        details: readDetails(org.sequence, org.createdAt ?? new Date(0), org.changedAt ?? new Date(0), org.id),
        state: org.state,
        name: org.name,
        primaryDomain: org.primaryDomain,
      },
    };
  },
};
