import type { UniqueClaim } from "../events.js";
import { UserType, userExists, type UserState } from "./user.js";

/** The scopes of every PAT (ZITADEL's command/user_personal_access_token.go); not chosen by the caller. */
export const PAT_SCOPES: readonly string[] = ["openid", "profile", "urn:zitadel:iam:user:metadata", "urn:zitadel:iam:user:resourceowner"];

/**
 * ZITADEL's `usernames` unique constraint, per instance. Case-insensitive, because client_id lookups
 * at the token endpoint are (as ZITADEL's).
 */
export const usernameClaim = (userName: string, action: "add" | "remove"): UniqueClaim => ({
  action,
  type: "usernames",
  field: userName.toLowerCase(),
  error: { kind: "AlreadyExists", id: "V3-DKcYh", message: "User already exists" },
});

/** The user as a write model scoped to one org (the caller's): another org's user does not exist there. */
export const inOrg = (u: UserState, scope: { orgId: string }) => userExists(u) && u.orgId === scope.orgId;
export const isMachineInOrg = (u: UserState, scope: { orgId: string }) => inOrg(u, scope) && u.type === UserType.machine;
