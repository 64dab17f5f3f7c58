import type { UniqueClaim } from "../events.js";

/**
 * Uniqueness on projects, as ZITADEL's unique constraints (internal/repository/project): a project's
 * name per org (`project_names`, name + resource owner), a role key per project (`project_role`,
 * key:projectId), one membership per project and user (`member`, as org and instance members) and one
 * grant per project and granted org (`project_grant`, grantedOrgId:projectId).
 */

const UNIQUE_TAKEN = "V3-DKcYh";

export const projectNameClaim = (name: string, orgId: string, action: "add" | "remove"): UniqueClaim => ({
  action,
  type: "project_names",
  field: name + orgId,
  error: { kind: "AlreadyExists", id: UNIQUE_TAKEN, message: "Errors.Project.AlreadyExists" },
});

export const projectRoleClaim = (key: string, projectId: string, action: "add" | "remove"): UniqueClaim => ({
  action,
  type: "project_role",
  field: `${key}:${projectId}`,
  error: { kind: "AlreadyExists", id: UNIQUE_TAKEN, message: "Errors.Project.Role.AlreadyExists" },
});

export const projectMemberClaim = (projectId: string, userId: string, action: "add" | "remove"): UniqueClaim => ({
  action,
  type: "member",
  field: `${projectId}:${userId}`,
  error: { kind: "AlreadyExists", id: "PROJECT-PtXi1", message: "Errors.Project.Member.AlreadyExists" },
});

export const projectGrantClaim = (grantedOrgId: string, projectId: string, action: "add" | "remove"): UniqueClaim => ({
  action,
  type: "project_grant",
  field: `${grantedOrgId}:${projectId}`,
  error: { kind: "AlreadyExists", id: UNIQUE_TAKEN, message: "Errors.Project.Grant.AlreadyExists" },
});
