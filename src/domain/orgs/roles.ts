/**
 * ZITADEL's default role → permission mapping (cmd/defaults.yaml `InternalAuthZ.RolePermissionMappings`),
 * restricted to the permissions of the services Portcullis serves. Kept as data, in one place.
 */
/** Grants every permission. */
export const ALL_PERMISSIONS = "*";

const USER_READ_ALL = ["user.read", "user.global.read", "user.membership.read", "user.grant.read"];
const ORG_READ_ALL = ["org.read", "org.member.read", "policy.read", "project.read"];

export const rolePermissions: Readonly<Record<string, readonly string[]>> = {
  // ZITADEL's IAM_OWNER holds every permission of the management and admin APIs (iam.*, org.*,
  // user.*, project.*, policy.*, action.*, ...); listing them all would only invite omissions.
  IAM_OWNER: [ALL_PERMISSIONS],
  IAM_OWNER_VIEWER: ["iam.read", "iam.member.read", "iam.policy.read", "org.read", "org.global.read", "org.member.read", ...USER_READ_ALL, "policy.read", "project.read", "session.read", "events.read"],
  IAM_ORG_MANAGER: [
    "org.read", "org.global.read", "org.create", "org.write", "org.delete", "org.member.read", "org.member.write", "org.member.delete",
    "user.read", "user.global.read", "user.write", "user.delete", "user.credential.write", "user.passkey.write",
    "user.membership.read", "user.grant.read", "user.grant.write", "policy.read", "project.read", "session.read",
  ],
  IAM_USER_MANAGER: [
    "org.read", "org.global.read", "org.member.read", "org.member.delete",
    "user.read", "user.global.read", "user.write", "user.delete", "user.passkey.write", "user.membership.read", "user.grant.read", "user.grant.write",
    "project.read", "session.read",
  ],
  IAM_ADMIN_IMPERSONATOR: ["admin.impersonation", "impersonation"],
  IAM_END_USER_IMPERSONATOR: ["impersonation"],
  IAM_LOGIN_CLIENT: [
    "iam.read", "iam.member.read", "iam.member.write", "org.read", "org.member.read", "org.member.write",
    "user.read", "user.write", "user.credential.write", "user.passkey.write", "user.membership.read", "user.grant.read", "user.grant.write",
    "policy.read", "project.read", "session.read",
  ],
  ORG_OWNER: [
    "org.read", "org.global.read", "org.write", "org.delete", "org.member.read", "org.member.write", "org.member.delete",
    "user.read", "user.global.read", "user.write", "user.delete", "user.credential.write", "user.passkey.write",
    "user.membership.read", "user.grant.read", "user.grant.write", "policy.read", "project.read", "session.read",
  ],
  ORG_USER_MANAGER: ["org.read", "user.read", "user.global.read", "user.write", "user.delete", "user.passkey.write", "user.membership.read", "user.grant.read", "user.grant.write", "policy.read", "project.read", "session.read"],
  ORG_OWNER_VIEWER: [...ORG_READ_ALL, ...USER_READ_ALL],
  ORG_USER_PERMISSION_EDITOR: [...ORG_READ_ALL, "user.read", "user.global.read", "user.grant.read", "user.grant.write"],
  ORG_PROJECT_PERMISSION_EDITOR: [...ORG_READ_ALL, "user.read", "user.global.read", "user.grant.read", "user.grant.write"],
  ORG_SETTINGS_MANAGER: ["org.read", "org.write", "org.member.read", "policy.read"],
  ORG_PROJECT_CREATOR: ["project.read:self", "project.create"],
  ORG_ADMIN_IMPERSONATOR: ["admin.impersonation"],
  ORG_END_USER_IMPERSONATOR: ["impersonation"],
  ORG_USER_SELF_MANAGER: ["user.self.delete"],
  SELF_MANAGEMENT_GLOBAL: ["org.create", "policy.read", "user.self.delete"],
};

/** Org roles offered by ListOrgMemberRoles, in ZITADEL's config order. */
export const ORG_ROLES = [
  "ORG_OWNER", "ORG_USER_MANAGER", "ORG_OWNER_VIEWER", "ORG_SETTINGS_MANAGER", "ORG_USER_PERMISSION_EDITOR",
  "ORG_PROJECT_PERMISSION_EDITOR", "ORG_PROJECT_CREATOR", "ORG_ADMIN_IMPERSONATOR", "ORG_END_USER_IMPERSONATOR", "ORG_USER_SELF_MANAGER",
] as const;

/** Instance roles offered by ListIAMMemberRoles, in ZITADEL's config order (admin integration_test/iam_member_test.go). */
export const IAM_ROLES = [
  "IAM_OWNER", "IAM_OWNER_VIEWER", "IAM_ORG_MANAGER", "IAM_USER_MANAGER", "IAM_ADMIN_IMPERSONATOR", "IAM_END_USER_IMPERSONATOR", "IAM_LOGIN_CLIENT",
] as const;

/** Offered to the members of the instance's default org only (ZITADEL's GetOrgMemberRoles(isDefaultOrg)). */
export const SELF_MANAGEMENT_GLOBAL = "SELF_MANAGEMENT_GLOBAL";

const ORG_ROLES_OF_DEFAULT_ORG: readonly string[] = [...ORG_ROLES, SELF_MANAGEMENT_GLOBAL];

const cache = new Map<string, ReadonlySet<string>>();

/** The union of the permissions of these roles (unknown roles grant nothing). */
export function permissionsOf(roles: readonly string[]): ReadonlySet<string> {
  const key = roles.join(",");
  let set = cache.get(key);
  if (!set) {
    set = new Set(roles.flatMap((r) => rolePermissions[r] ?? []));
    if (cache.size < 1024) cache.set(key, set);
  }
  return set;
}

/** Whether these roles grant the permission. */
export const rolesGrant = (roles: readonly string[], permission: string): boolean => {
  const set = permissionsOf(roles);
  return set.has(permission) || set.has(ALL_PERMISSIONS);
};

const ORG_ROLE_SET: ReadonlySet<string> = new Set(ORG_ROLES);
const IAM_ROLE_SET: ReadonlySet<string> = new Set(IAM_ROLES);

/**
 * The roles an org's members may hold, as ListOrgMemberRoles offers them: the ORG_* roles, and
 * SELF_MANAGEMENT_GLOBAL (org.create) in the instance's default org only (ZITADEL's
 * GetOrgMemberRoles(isDefaultOrg)). ZITADEL's AddOrgMember accepts SELF_MANAGEMENT_GLOBAL in any org;
 * Portcullis accepts only what is offered, so a member of another org cannot be given org.create.
 */
export const orgMemberRolesOffered = (isDefaultOrg: boolean): readonly string[] => (isDefaultOrg ? ORG_ROLES_OF_DEFAULT_ORG : ORG_ROLES);

/** Whether every role is one the org offers (orgMemberRolesOffered). */
export const areOfferedOrgRoles = (roles: readonly string[], isDefaultOrg: boolean) => {
  const offered = orgMemberRolesOffered(isDefaultOrg);
  return roles.every((r) => offered.includes(r));
};

/** ZITADEL's domain.CheckForInvalidRoles with prefix "ORG": every role is a configured ORG_* role. */
export const areOrgRoles = (roles: readonly string[]) => roles.every((r) => ORG_ROLE_SET.has(r));
/** The same for the instance ("IAM" prefix). An empty list passes, as in ZITADEL. */
export const areIamRoles = (roles: readonly string[]) => roles.every((r) => IAM_ROLE_SET.has(r));
