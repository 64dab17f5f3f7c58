import { ALL_PERMISSIONS, permissionsOf } from "./roles.js";

/**
 * The privilege ceiling (beyond ZITADEL, issue #19): a caller may act on another user — mint a
 * credential for it, change, lock, remove it, touch its metadata or its memberships — only if, in
 * every scope where that user is a member, the caller's permissions there cover the user's. The
 * proto's permissions alone (`user.write`, `org.member.write`) would let an ORG_USER_MANAGER mint a
 * PAT for the instance's IAM_OWNER and then act as it.
 *
 * Compared as permissions (roles.ts), not role names, so an IAM_OWNER (`*`) covers an ORG_OWNER.
 * A scope's effective roles: on the instance, the instance membership's; in an org, the instance
 * membership's together with that org's (as authorization evaluates them).
 */

/** Refused with PermissionDenied and this id (docs/design.md, "Where Portcullis differs"). */
export const CEILING_ERROR_ID = "AUTHZ-ceiling";
export const CEILING_TARGET_MESSAGE = "The user holds permissions the caller does not have";
export const CEILING_GRANT_MESSAGE = "The roles would give the user permissions the caller does not have";

/** Whether roles granting `caller`'s permissions grant every permission `target`'s do. */
export function rolesCover(caller: readonly string[], target: readonly string[]): boolean {
  const have = permissionsOf(caller);
  if (have.has(ALL_PERMISSIONS)) return true;
  for (const p of permissionsOf(target)) if (!have.has(p)) return false;
  return true;
}

/**
 * A user's memberships: its instance roles (undefined when not an instance member), its roles per org
 * and its roles per project (keyed by project id; the project's org is in the scope).
 */
export interface Memberships {
  instance?: readonly string[];
  orgs: ReadonlyMap<string, readonly string[]>;
  projects?: ReadonlyMap<string, readonly string[]>;
}

/** A project scope names its org: the org's roles are in effect in its projects. */
export type CeilingScope = { type: "instance" } | { type: "org"; id: string } | { type: "project"; id: string; orgId: string };

/** The roles in effect in one scope: the instance roles, plus the org's for an org, plus the project's (and its org's) for a project. */
export const effectiveRoles = (m: Memberships, scope: CeilingScope): readonly string[] => {
  const iam = m.instance ?? [];
  if (scope.type === "instance") return iam;
  const org = m.orgs.get(scope.type === "org" ? scope.id : scope.orgId) ?? [];
  const project = scope.type === "project" ? (m.projects?.get(scope.id) ?? []) : [];
  return [...iam, ...org, ...project];
};

/**
 * The first scope where the target is a member and holds a permission the caller does not hold
 * there, or undefined when the caller may act on the target. `projectOrgs`: the org of each of the
 * target's projects.
 */
export function scopeAboveCaller(caller: Memberships, target: Memberships, projectOrgs: ReadonlyMap<string, string> = new Map()): CeilingScope | undefined {
  const scopes: CeilingScope[] = [
    ...(target.instance ? [{ type: "instance" } as const] : []),
    ...[...target.orgs.keys()].map((id) => ({ type: "org", id }) as const),
    ...[...(target.projects?.keys() ?? [])].map((id) => ({ type: "project", id, orgId: projectOrgs.get(id) ?? "" }) as const),
  ];
  return scopes.find((scope) => !rolesCover(effectiveRoles(caller, scope), effectiveRoles(target, scope)));
}
