import type { Deps } from "../core/context.js";

/**
 * The role claims of a user for some projects, as ZITADEL shapes them:
 * `{ "urn:zitadel:iam:org:project:{P}:roles": { roleKey: { orgId: primaryDomain } }, ... }`.
 */
export async function projectRoleClaims(
  _deps: Deps,
  _userId: string,
  _projectIds: string[],
  _roleKeyFilter?: string[],
  _orgFilter?: string[],
): Promise<Record<string, unknown>> {
  // implemented in branch ugrant
  return {};
}
