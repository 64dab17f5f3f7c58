import { describe, expect, it } from "vitest";
import { effectiveRoles, rolesCover, scopeAboveCaller, type Memberships } from "./ceiling.js";
import { ORG_ROLES, areOfferedOrgRoles, orgMemberRolesOffered } from "./roles.js";

const member = (instance: string[] | undefined, orgs: Record<string, string[]> = {}): Memberships => ({ instance, orgs: new Map(Object.entries(orgs)) });

describe("rolesCover (permissions, not role names)", () => {
  it("IAM_OWNER covers every role, and only IAM_OWNER covers IAM_OWNER", () => {
    expect(rolesCover(["IAM_OWNER"], ["ORG_OWNER", "IAM_LOGIN_CLIENT", "SELF_MANAGEMENT_GLOBAL"])).toBe(true);
    expect(rolesCover(["IAM_OWNER"], ["IAM_OWNER"])).toBe(true);
    expect(rolesCover(["ORG_OWNER", "IAM_ORG_MANAGER", "IAM_USER_MANAGER"], ["IAM_OWNER"])).toBe(false);
  });

  it("a role covers itself and the roles whose permissions it holds; not the other way round", () => {
    expect(rolesCover(["ORG_OWNER"], ["ORG_OWNER"])).toBe(true);
    expect(rolesCover(["ORG_OWNER"], ["ORG_USER_MANAGER", "ORG_OWNER_VIEWER"])).toBe(true);
    expect(rolesCover(["ORG_USER_MANAGER"], ["ORG_OWNER"])).toBe(false);
    expect(rolesCover(["IAM_ORG_MANAGER"], ["ORG_OWNER"])).toBe(true);
    expect(rolesCover(["ORG_OWNER"], ["IAM_ORG_MANAGER"])).toBe(false);
  });

  it("no roles cover no permissions; roles without permissions (or unknown) are covered by anything", () => {
    expect(rolesCover([], [])).toBe(true);
    expect(rolesCover([], ["UNKNOWN_ROLE"])).toBe(true);
    expect(rolesCover([], ["ORG_OWNER_VIEWER"])).toBe(false);
  });

  it("is decided by the union of the roles' permissions", () => {
    // SELF_MANAGEMENT_GLOBAL adds org.create, which ORG_OWNER lacks.
    expect(rolesCover(["ORG_OWNER"], ["SELF_MANAGEMENT_GLOBAL"])).toBe(false);
    expect(rolesCover(["ORG_OWNER", "SELF_MANAGEMENT_GLOBAL"], ["ORG_OWNER", "SELF_MANAGEMENT_GLOBAL"])).toBe(true);
  });
});

describe("effectiveRoles", () => {
  it("on the instance: the instance roles; in an org: the instance roles and the org's", () => {
    const m = member(["IAM_OWNER_VIEWER"], { o1: ["ORG_OWNER"] });
    expect(effectiveRoles(m, { type: "instance" })).toEqual(["IAM_OWNER_VIEWER"]);
    expect(effectiveRoles(m, { type: "org", id: "o1" })).toEqual(["IAM_OWNER_VIEWER", "ORG_OWNER"]);
    expect(effectiveRoles(m, { type: "org", id: "o2" })).toEqual(["IAM_OWNER_VIEWER"]);
    expect(effectiveRoles(member(undefined), { type: "org", id: "o1" })).toEqual([]);
  });
});

describe("scopeAboveCaller", () => {
  it("finds nothing for a target without memberships, whoever the caller", () => {
    expect(scopeAboveCaller(member(undefined), member(undefined))).toBeUndefined();
  });

  it("finds the instance when the target's instance roles exceed the caller's", () => {
    expect(scopeAboveCaller(member(undefined, { o1: ["ORG_OWNER"] }), member(["IAM_OWNER"]))).toEqual({ type: "instance" });
    // An org role does not count on the instance, however high.
    expect(scopeAboveCaller(member(undefined, { o1: ["ORG_OWNER"] }), member(["IAM_OWNER_VIEWER"]))).toEqual({ type: "instance" });
    expect(scopeAboveCaller(member(["IAM_OWNER"]), member(["IAM_OWNER"], { o1: ["ORG_OWNER"] }))).toBeUndefined();
  });

  it("compares each org of the target with the caller's roles in that same org", () => {
    const caller = member(undefined, { o1: ["ORG_OWNER"] });
    expect(scopeAboveCaller(caller, member(undefined, { o1: ["ORG_OWNER"] }))).toBeUndefined();
    expect(scopeAboveCaller(caller, member(undefined, { o1: ["ORG_USER_MANAGER"] }))).toBeUndefined();
    // The caller owns o1, not o2.
    expect(scopeAboveCaller(caller, member(undefined, { o1: ["ORG_OWNER_VIEWER"], o2: ["ORG_OWNER_VIEWER"] }))).toEqual({ type: "org", id: "o2" });
    expect(scopeAboveCaller(member(undefined, { o1: ["ORG_USER_MANAGER"] }), member(undefined, { o1: ["ORG_OWNER"] }))).toEqual({ type: "org", id: "o1" });
  });

  it("counts the caller's instance roles in every org, and the target's too", () => {
    expect(scopeAboveCaller(member(["IAM_ORG_MANAGER"]), member(undefined, { o1: ["ORG_OWNER"], o2: ["ORG_OWNER"] }))).toBeUndefined();
    // In o1 the target holds IAM_USER_MANAGER + ORG_OWNER_VIEWER; an ORG_OWNER of o1 lacks nothing of it there, but the target is an instance member.
    expect(scopeAboveCaller(member(undefined, { o1: ["ORG_OWNER"] }), member(["IAM_USER_MANAGER"], { o1: ["ORG_OWNER_VIEWER"] }))).toEqual({ type: "instance" });
  });
});

describe("the roles an org offers its members", () => {
  it("are the ORG_* roles, and SELF_MANAGEMENT_GLOBAL in the instance's default org only", () => {
    expect(orgMemberRolesOffered(false)).toEqual(ORG_ROLES);
    expect(orgMemberRolesOffered(true)).toEqual([...ORG_ROLES, "SELF_MANAGEMENT_GLOBAL"]);
    expect(areOfferedOrgRoles(["ORG_OWNER", "ORG_USER_MANAGER"], false)).toBe(true);
    expect(areOfferedOrgRoles(["SELF_MANAGEMENT_GLOBAL"], false)).toBe(false);
    expect(areOfferedOrgRoles(["SELF_MANAGEMENT_GLOBAL"], true)).toBe(true);
    expect(areOfferedOrgRoles(["IAM_OWNER"], true)).toBe(false);
  });
});
