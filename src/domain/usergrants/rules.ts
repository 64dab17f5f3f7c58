import type { UniqueClaim } from "../events.js";

/**
 * One user grant per org × user × project × project grant (ZITADEL's `user_grant` unique
 * constraint, "resourceOwner:userID:projectID:projectGrantID").
 */
export const userGrantClaim = (orgId: string, userId: string, projectId: string, projectGrantId: string, action: "add" | "remove"): UniqueClaim => ({
  action,
  type: "user_grant",
  field: `${orgId}:${userId}:${projectId}:${projectGrantId}`,
  error: { kind: "AlreadyExists", id: "V3-DKcYh", message: "Errors.UserGrant.AlreadyExists" },
});

/** Role keys of a request: each once, in the order given (ZITADEL keeps duplicates out with its validation). */
export const hasDuplicates = (keys: readonly string[]) => new Set(keys).size !== keys.length;
