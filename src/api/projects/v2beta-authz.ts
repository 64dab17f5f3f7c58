import { authorizeInOrg } from "../../app/core/authz.js";
import type { Caller } from "../../app/core/context.js";
import type { ProjectState } from "../../domain/projects/project.js";
import type { CallContext } from "../pipeline.js";

/**
 * The Caller acting on project `projectId` for a v2beta method (ZITADEL's newPermissionCheck on the
 * project aggregate): authorized in the project's org, where the caller's membership in the project
 * itself counts too (PROJECT_OWNER). An unknown project gets a Caller in no org, so the command answers
 * its own not-found error (ZITADEL's v2 commands load before they check) and cannot act on a project
 * created meanwhile.
 */
export async function onProject(ctx: CallContext, projectId: string, permission: string): Promise<{ caller: Caller; project: ProjectState }> {
  const project = await ctx.deps.cache.get(ctx.deps.instanceId, "project", projectId);
  if (!projectId || !project.exists) return { caller: { ...ctx.caller, orgId: "" }, project };
  const caller = await authorizeInOrg(ctx.deps, ctx.principal, project.orgId, permission, { target: { type: "project", id: projectId } });
  return { caller, project };
}
