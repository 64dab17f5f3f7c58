import type { UniqueClaim } from "../events.js";

/** ZITADEL's `member` unique constraint: one membership per scope (org or instance) and user. */
export const memberClaim = (scopeId: string, userId: string, action: "add" | "remove"): UniqueClaim => ({
  action,
  type: "member",
  field: `${scopeId}:${userId}`,
  error: { kind: "AlreadyExists", id: "ORG-poWwe", message: "Errors.Org.Member.AlreadyExists" },
});
