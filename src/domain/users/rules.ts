import { invalidArgument } from "../errors.js";
import type { UniqueClaim } from "../events.js";
import { MAX_ID_BYTES, identifierProblem, type IdentifierProblem } from "../identifiers.js";
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

/** InvalidArgument per broken rule of a caller-chosen user id (domain/identifiers.ts). */
const USER_ID_ERRORS: Record<IdentifierProblem, readonly [id: string, message: string]> = {
  empty: ["DOMAIN-Ud1em", "the user id must not be empty"],
  "too-long": ["DOMAIN-Ud7qz", `the user id must be at most ${MAX_ID_BYTES} bytes of UTF-8`],
  "dot-segment": ["DOMAIN-Ud9wa", "the user id must not be . or .."],
  padded: ["DOMAIN-Ud2kx", "the user id must not begin or end with whitespace"],
  characters: ["DOMAIN-Ud4pc", "the user id must not contain control characters, bidirectional formatting characters or unpaired surrogates"],
};

/** A caller-chosen user id (AddMachineUser's user_id); generated ids need no check. */
export function checkUserId(id: string): void {
  const problem = identifierProblem("id", id);
  if (problem) throw invalidArgument(...USER_ID_ERRORS[problem]);
}

/** A username (also the OAuth client_id), after trimming. */
export function checkUserName(userName: string): void {
  if (identifierProblem("username", userName))
    throw invalidArgument("DOMAIN-Un3hs", "the username must not contain control characters, bidirectional formatting characters or unpaired surrogates");
}

/** A machine's display name. */
export function checkDisplayName(name: string): void {
  if (identifierProblem("name", name))
    throw invalidArgument("DOMAIN-Nm8rf", "the name must not contain control characters, bidirectional overrides or isolates, or unpaired surrogates");
}
