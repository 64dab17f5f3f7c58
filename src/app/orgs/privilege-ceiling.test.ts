import { describe, expect, it } from "vitest";
import { INSTANCE_ID, callerIn, createHarness, instanceEvent, memberCaller, orgEvent, userEvent } from "../core/testing/given.js";
import { addInstanceMember, removeInstanceMember, updateInstanceMember } from "./instance-members.js";
import { addOrgMember, removeOrgMember, updateOrgMember } from "./org-members.js";

// The privilege ceiling in the member commands: a member change in one scope (an org, the instance)
// is refused when the member holds, before it, permissions there the caller does not (AUTHZ-ceiling,
// "holds"), or would hold them after it ("would give"); the caller's and the member's instance roles
// count in every org.

const ORG = "org1";
const OTHER_ORG = "org2";
const ABOVE = { kind: "PermissionDenied", id: "AUTHZ-ceiling", message: "The user holds permissions the caller does not have" };
const GRANT = { kind: "PermissionDenied", id: "AUTHZ-ceiling", message: "The roles would give the user permissions the caller does not have" };

const orgMember = (orgId: string, userId: string, roles: string[]) => orgEvent(orgId, "org.member.added", { userId, roles });
const iamMember = (userId: string, roles: string[]) => instanceEvent("instance.member.added", { userId, roles });

/**
 * Default org org1 and org2; machines of org1: admin (IAM_OWNER, ORG_OWNER), owner (ORG_OWNER),
 * loginClient (IAM_LOGIN_CLIENT: org.member.write and iam.member.write, but not org.delete),
 * orgManager (IAM_ORG_MANAGER), viewer (IAM_OWNER_VIEWER), plain (no membership).
 */
function given() {
  const t = createHarness();
  t.given(
    instanceEvent("instance.added", { name: "Portcullis" }),
    instanceEvent("instance.default.org.set", { orgId: ORG }),
    orgEvent(ORG, "org.added", { name: "Acme" }),
    orgEvent(OTHER_ORG, "org.added", { name: "Other" }),
    ...["admin", "owner", "loginClient", "orgManager", "viewer", "plain"].map((id) => userEvent(id, ORG, "user.machine.added", { userName: id, name: id })),
    iamMember("admin", ["IAM_OWNER"]),
    orgMember(ORG, "admin", ["ORG_OWNER"]),
    orgMember(ORG, "owner", ["ORG_OWNER"]),
    iamMember("loginClient", ["IAM_LOGIN_CLIENT"]),
    iamMember("orgManager", ["IAM_ORG_MANAGER"]),
    iamMember("viewer", ["IAM_OWNER_VIEWER"]),
  );
  return t;
}

const owner = memberCaller(ORG, "owner");
const loginClient = memberCaller(ORG, "loginClient");

describe("the privilege ceiling on org members", () => {
  it("lets an ORG_OWNER add, change and remove members up to its own permissions", async () => {
    const t = given();
    await addOrgMember(t.deps, owner, "plain", ["ORG_OWNER"]);
    await updateOrgMember(t.deps, owner, "plain", ["ORG_USER_MANAGER", "ORG_OWNER_VIEWER"]);
    await removeOrgMember(t.deps, owner, "plain");
    expect(t.written().map((e) => e.type)).toEqual(["org.member.added", "org.member.changed", "org.member.removed"]);
  });

  it("refuses roles that give permissions the caller does not hold, to others and to itself", async () => {
    const t = given();
    // IAM_LOGIN_CLIENT may write members but holds neither org.delete nor org.create.
    await expect(addOrgMember(t.deps, loginClient, "plain", ["ORG_OWNER"])).rejects.toMatchObject(GRANT);
    await expect(addOrgMember(t.deps, loginClient, "loginClient", ["ORG_OWNER"])).rejects.toMatchObject(GRANT);
    await expect(addOrgMember(t.deps, owner, "plain", ["SELF_MANAGEMENT_GLOBAL"])).rejects.toMatchObject(GRANT);
    t.given(orgMember(ORG, "plain", ["ORG_OWNER_VIEWER"]));
    // ORG_OWNER_VIEWER holds user.global.read, which IAM_LOGIN_CLIENT does not: the member is already above it.
    await expect(updateOrgMember(t.deps, loginClient, "plain", ["ORG_OWNER"])).rejects.toMatchObject(ABOVE);
    expect(t.pushes).toEqual([]);
    // Within its permissions a caller may.
    await updateOrgMember(t.deps, owner, "plain", ["ORG_USER_MANAGER"]);
    expect(t.written().map((e) => e.payload)).toEqual([{ userId: "plain", roles: ["ORG_USER_MANAGER"] }]);
  });

  it("refuses to change or remove a member who holds permissions the caller does not, instance roles included", async () => {
    const t = given();
    await expect(updateOrgMember(t.deps, owner, "admin", ["ORG_OWNER_VIEWER"])).rejects.toMatchObject(ABOVE);
    await expect(removeOrgMember(t.deps, owner, "admin")).rejects.toMatchObject(ABOVE);
    // Making an instance member an org member acts on it too: afterwards it holds its instance roles in the org.
    await expect(addOrgMember(t.deps, owner, "viewer", ["ORG_OWNER_VIEWER"])).rejects.toMatchObject(GRANT);
    expect(t.pushes).toEqual([]);
    // An IAM_ORG_MANAGER holds every permission of an ORG_OWNER, in every org.
    await removeOrgMember(t.deps, memberCaller(OTHER_ORG, "orgManager"), "plain");
    await updateOrgMember(t.deps, memberCaller(ORG, "orgManager"), "owner", ["ORG_OWNER_VIEWER"]);
    expect(t.written().map((e) => e.type)).toEqual(["org.member.changed"]);
  });

  it("lets a caller lower its own roles but not raise them", async () => {
    const t = given();
    await updateOrgMember(t.deps, owner, "owner", ["ORG_OWNER_VIEWER"]);
    await expect(updateOrgMember(t.deps, owner, "owner", ["ORG_OWNER"])).rejects.toMatchObject(GRANT);
    await removeOrgMember(t.deps, owner, "owner");
    expect(t.written().map((e) => e.type)).toEqual(["org.member.changed", "org.member.removed"]);
  });

  it("does not bound the system's own calls", async () => {
    const t = given();
    await addOrgMember(t.deps, callerIn(ORG, "nobody"), "plain", ["ORG_OWNER", "ORG_PROJECT_CREATOR"]);
    await removeOrgMember(t.deps, callerIn(ORG, "nobody"), "admin");
    expect(t.written().map((e) => e.type)).toEqual(["org.member.added", "org.member.removed"]);
  });
});

describe("the privilege ceiling on instance members", () => {
  it("refuses an IAM_LOGIN_CLIENT making itself or anyone IAM_OWNER, and touching the IAM_OWNER", async () => {
    const t = given();
    await expect(updateInstanceMember(t.deps, loginClient, "loginClient", ["IAM_OWNER"])).rejects.toMatchObject(GRANT);
    await expect(addInstanceMember(t.deps, loginClient, "plain", ["IAM_OWNER"])).rejects.toMatchObject(GRANT);
    await expect(updateInstanceMember(t.deps, loginClient, "admin", ["IAM_LOGIN_CLIENT"])).rejects.toMatchObject(ABOVE);
    await expect(removeInstanceMember(t.deps, loginClient, "admin")).rejects.toMatchObject(ABOVE);
    // IAM_ORG_MANAGER holds org.create, which IAM_LOGIN_CLIENT does not.
    await expect(removeInstanceMember(t.deps, loginClient, "orgManager")).rejects.toMatchObject(ABOVE);
    expect(t.pushes).toEqual([]);
  });

  it("counts only instance roles on the instance: an ORG_OWNER does not cover an IAM_OWNER_VIEWER there", async () => {
    const t = given();
    await expect(removeInstanceMember(t.deps, owner, "viewer")).rejects.toMatchObject(ABOVE);
    expect(t.pushes).toEqual([]);
  });

  it("lets an IAM_OWNER manage every instance member, and a member leave", async () => {
    const t = given();
    const admin = memberCaller(ORG, "admin");
    await addInstanceMember(t.deps, admin, "plain", ["IAM_OWNER"]);
    await updateInstanceMember(t.deps, admin, "loginClient", ["IAM_OWNER_VIEWER"]);
    await removeInstanceMember(t.deps, memberCaller(ORG, "viewer"), "viewer");
    expect(t.written().map((e) => [e.aggregateId, e.type])).toEqual([
      [INSTANCE_ID, "instance.member.added"],
      [INSTANCE_ID, "instance.member.changed"],
      [INSTANCE_ID, "instance.member.removed"],
    ]);
  });
});
