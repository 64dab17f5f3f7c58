import { describe, expect, it } from "vitest";
import { GIVEN_AT, NOW, callerIn, createHarness, instanceEvent, orgEvent, userEvent } from "../core/testing/given.js";
import { addOrgMember, removeOrgMember, updateOrgMember } from "./org-members.js";

const ORG = "org1";
const OTHER_ORG = "org2";
const caller = callerIn(ORG);

/** Events 0..5: org1 and org2, a machine in each, a removed user, a user of a removed org (org3). */
function given() {
  const t = createHarness();
  t.given(
    orgEvent(ORG, "org.added", { name: "Acme" }),
    orgEvent(OTHER_ORG, "org.added", { name: "Other" }),
    userEvent("u1", ORG, "user.machine.added", { userName: "bot", name: "Bot" }),
    userEvent("foreign", OTHER_ORG, "user.machine.added", { userName: "foreign", name: "F" }),
    userEvent("gone", ORG, "user.machine.added", { userName: "gone", name: "G" }),
    userEvent("gone", ORG, "user.removed"),
    orgEvent("org3", "org.added", { name: "Doomed" }),
    userEvent("orphan", "org3", "user.machine.added", { userName: "orphan", name: "O" }),
    orgEvent("org3", "org.removed", { name: "Doomed" }),
  );
  return t;
}
const memberAdded = (userId: string, roles: string[]) => orgEvent(ORG, "org.member.added", { userId, roles });
const written = (sequence: number, type: string, payload: Record<string, unknown>) => ({ aggregateType: "org", aggregateId: ORG, resourceOwner: ORG, sequence, type, payload });

describe("addOrgMember", () => {
  it("writes org.member.added on the org with the roles as given, claims the membership and answers creationDate", async () => {
    const t = given();
    const d = await addOrgMember(t.deps, caller, "u1", ["ORG_OWNER", "ORG_USER_MANAGER"]);
    expect(d).toEqual({ sequence: 2, creationDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([written(2, "org.member.added", { userId: "u1", roles: ["ORG_OWNER", "ORG_USER_MANAGER"] })]);
    expect(t.writtenClaims()).toEqual([{ action: "add", type: "member", field: "org1:u1" }]);
    // Decided on the org, the user and the user's org.
    expect(t.pushes[0]!.expected).toEqual({ "org:org1": 1, "user:u1": 1 });
  });

  it("accepts a user of another org of the instance, and SELF_MANAGEMENT_GLOBAL alone in the instance's default org", async () => {
    const t = given();
    t.given(instanceEvent("instance.default.org.set", { orgId: ORG }));
    await addOrgMember(t.deps, caller, "foreign", ["SELF_MANAGEMENT_GLOBAL", "SELF_MANAGEMENT_GLOBAL"]);
    expect(t.written()).toEqual([written(2, "org.member.added", { userId: "foreign", roles: ["SELF_MANAGEMENT_GLOBAL", "SELF_MANAGEMENT_GLOBAL"] })]);
    expect(t.pushes[0]!.expected).toEqual({ "org:org1": 1, "user:foreign": 1, "org:org2": 1 });
  });

  it("refuses SELF_MANAGEMENT_GLOBAL outside the instance's default org, as ListOrgMemberRoles does not offer it there (Org-4N8es)", async () => {
    const t = given();
    t.given(instanceEvent("instance.default.org.set", { orgId: OTHER_ORG }));
    await expect(addOrgMember(t.deps, caller, "u1", ["SELF_MANAGEMENT_GLOBAL"])).rejects.toMatchObject({ kind: "InvalidArgument", id: "Org-4N8es", message: "Errors.Org.MemberInvalid" });
    expect(t.pushes).toEqual([]);
    await addOrgMember(t.deps, callerIn(OTHER_ORG), "u1", ["SELF_MANAGEMENT_GLOBAL"]);
    expect(t.written()).toEqual([{ ...written(2, "org.member.added", { userId: "u1", roles: ["SELF_MANAGEMENT_GLOBAL"] }), aggregateId: OTHER_ORG, resourceOwner: OTHER_ORG }]);
  });

  it("refuses a missing user id or no roles (ORG-4Mlfs), and roles that are not all ORG_* or all SELF_MANAGEMENT_GLOBAL (Org-4N8es)", async () => {
    const t = given();
    const missing = { kind: "InvalidArgument", id: "ORG-4Mlfs", message: "Errors.Invalid.Argument" };
    await expect(addOrgMember(t.deps, caller, "", ["ORG_OWNER"])).rejects.toMatchObject(missing);
    await expect(addOrgMember(t.deps, caller, "u1", [])).rejects.toMatchObject(missing);
    for (const roles of [["FOO"], ["IAM_OWNER"], ["ORG_OWNER", "SELF_MANAGEMENT_GLOBAL"]])
      await expect(addOrgMember(t.deps, caller, "u1", roles)).rejects.toMatchObject({ kind: "InvalidArgument", id: "Org-4N8es", message: "Errors.Org.MemberInvalid" });
    expect(t.pushes).toEqual([]);
  });

  it("refuses unknown and removed users, and users of a removed org (ORG-GoXOn)", async () => {
    const t = given();
    for (const userId of ["nobody", "gone", "orphan"])
      await expect(addOrgMember(t.deps, caller, userId, ["ORG_OWNER"])).rejects.toMatchObject({
        kind: "FailedPrecondition",
        id: "ORG-GoXOn",
        message: "User could not be found",
      });
    expect(t.pushes).toEqual([]);
  });

  it("refuses a member twice (ORG-poWwe), from the state and from the claim", async () => {
    const t = given();
    t.given(memberAdded("u1", ["ORG_OWNER"]));
    const exists = { kind: "AlreadyExists", id: "ORG-poWwe", message: "Errors.Org.Member.AlreadyExists" };
    await expect(addOrgMember(t.deps, caller, "u1", ["ORG_OWNER_VIEWER"])).rejects.toMatchObject(exists);
    expect(t.pushes).toEqual([]);
    // A concurrent add the state does not show yet: the claim refuses it.
    t.givenClaims({ type: "member", field: "org1:foreign" });
    await expect(addOrgMember(t.deps, caller, "foreign", ["ORG_OWNER"])).rejects.toMatchObject(exists);
    expect(t.written()).toEqual([]);
  });

  it("refuses an org that does not exist (COMMAND-QXPGs)", async () => {
    const t = given();
    await expect(addOrgMember(t.deps, callerIn("nope"), "u1", ["ORG_OWNER"])).rejects.toMatchObject({
      kind: "FailedPrecondition",
      id: "COMMAND-QXPGs",
      message: "Organisation not found",
    });
  });
});

describe("updateOrgMember", () => {
  it("writes org.member.changed with the full new role list and answers changeDate", async () => {
    const t = given();
    t.given(memberAdded("u1", ["ORG_OWNER"]));
    const d = await updateOrgMember(t.deps, caller, "u1", ["ORG_USER_MANAGER", "ORG_OWNER_VIEWER"]);
    expect(d).toEqual({ sequence: 3, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([written(3, "org.member.changed", { userId: "u1", roles: ["ORG_USER_MANAGER", "ORG_OWNER_VIEWER"] })]);
    expect(t.writtenClaims()).toEqual([]);
  });

  it("treats another order as a change", async () => {
    const t = given();
    t.given(memberAdded("u1", ["ORG_OWNER", "ORG_USER_MANAGER"]));
    await updateOrgMember(t.deps, caller, "u1", ["ORG_USER_MANAGER", "ORG_OWNER"]);
    expect(t.written().map((e) => e.type)).toEqual(["org.member.changed"]);
  });

  it("writes nothing for the same roles in the same order and answers the member's last event", async () => {
    const t = given();
    t.given(memberAdded("u1", ["ORG_OWNER"]), orgEvent(ORG, "org.member.changed", { userId: "u1", roles: ["ORG_OWNER", "ORG_USER_MANAGER"] }), memberAdded("foreign", ["ORG_OWNER"]));
    const d = await updateOrgMember(t.deps, caller, "u1", ["ORG_OWNER", "ORG_USER_MANAGER"]);
    // org.member.changed was the 11th stored event (index 10) and the org's 3rd.
    expect(d).toEqual({ sequence: 3, changeDate: new Date(GIVEN_AT.getTime() + 10_000), resourceOwner: ORG });
    expect(t.pushes).toEqual([]);
  });

  it("refuses a missing user id or no roles (Org-LiaZi), non-org roles (INST-m9fG8), and a non-member (Org-D8JxR)", async () => {
    const t = given();
    t.given(memberAdded("u1", ["ORG_OWNER"]), orgEvent(ORG, "org.member.removed", { userId: "u1" }));
    const invalid = { kind: "InvalidArgument", id: "Org-LiaZi", message: "Errors.Org.MemberInvalid" };
    await expect(updateOrgMember(t.deps, caller, "", ["ORG_OWNER"])).rejects.toMatchObject(invalid);
    await expect(updateOrgMember(t.deps, caller, "u1", [])).rejects.toMatchObject(invalid);
    for (const roles of [["IAM_OWNER"], ["SELF_MANAGEMENT_GLOBAL"]])
      await expect(updateOrgMember(t.deps, caller, "u1", roles)).rejects.toMatchObject({ kind: "InvalidArgument", id: "INST-m9fG8", message: "Errors.Org.MemberInvalid" });
    for (const userId of ["u1", "foreign"])
      await expect(updateOrgMember(t.deps, caller, userId, ["ORG_OWNER"])).rejects.toMatchObject({ kind: "NotFound", id: "Org-D8JxR", message: "Errors.NotFound" });
    expect(t.pushes).toEqual([]);
  });
});

describe("removeOrgMember", () => {
  it("writes org.member.removed and frees the membership claim", async () => {
    const t = given();
    t.given(memberAdded("u1", ["ORG_OWNER"]));
    t.givenClaims({ type: "member", field: "org1:u1" });
    const d = await removeOrgMember(t.deps, caller, "u1");
    expect(d).toEqual({ sequence: 3, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([written(3, "org.member.removed", { userId: "u1" })]);
    expect(t.writtenClaims()).toEqual([{ action: "remove", type: "member", field: "org1:u1" }]);
    expect(t.claimed("member", "org1:u1")).toBe(false);
  });

  it("succeeds without writing for a non-member: the details of its last member event, or sequence 0", async () => {
    const t = given();
    t.given(memberAdded("u1", ["ORG_OWNER"]), orgEvent(ORG, "org.member.cascade.removed", { userId: "u1" }));
    expect(await removeOrgMember(t.deps, caller, "u1")).toEqual({ sequence: 3, changeDate: new Date(GIVEN_AT.getTime() + 10_000), resourceOwner: ORG });
    expect(await removeOrgMember(t.deps, caller, "never")).toEqual({ sequence: 0, resourceOwner: ORG });
    expect(t.pushes).toEqual([]);
  });

  it("refuses a missing user id (Org-LiaZi)", async () => {
    const t = given();
    await expect(removeOrgMember(t.deps, caller, "")).rejects.toMatchObject({ kind: "InvalidArgument", id: "Org-LiaZi", message: "Errors.Org.MemberInvalid" });
  });
});
