import { describe, expect, it } from "vitest";
import { GIVEN_AT, INSTANCE_ID, NOW, callerIn, createHarness, instanceEvent, orgEvent, userEvent } from "../core/testing/given.js";
import { addInstanceMember, removeInstanceMember, updateInstanceMember } from "./instance-members.js";

const ORG = "org1";
const caller = callerIn(ORG);

/** The instance (2 events), an org with a machine, a removed user, and a user of a removed org. */
function given() {
  const t = createHarness();
  t.given(
    instanceEvent("instance.added", { name: "Portcullis" }),
    instanceEvent("instance.default.org.set", { orgId: ORG }),
    orgEvent(ORG, "org.added", { name: "Acme" }),
    userEvent("u1", ORG, "user.machine.added", { userName: "bot", name: "Bot" }),
    userEvent("gone", ORG, "user.machine.added", { userName: "gone", name: "G" }),
    userEvent("gone", ORG, "user.removed"),
    orgEvent("org3", "org.added", { name: "Doomed" }),
    userEvent("orphan", "org3", "user.machine.added", { userName: "orphan", name: "O" }),
    orgEvent("org3", "org.removed", { name: "Doomed" }),
  );
  return t;
}
const memberAdded = (userId: string, roles: string[]) => instanceEvent("instance.member.added", { userId, roles });
const written = (sequence: number, type: string, payload: Record<string, unknown>) => ({
  aggregateType: "instance",
  aggregateId: INSTANCE_ID,
  resourceOwner: INSTANCE_ID,
  sequence,
  type,
  payload,
});

describe("addInstanceMember", () => {
  it("writes instance.member.added on the instance, claims the membership and answers creationDate", async () => {
    const t = given();
    const d = await addInstanceMember(t.deps, caller, "u1", ["IAM_OWNER_VIEWER", "IAM_USER_MANAGER"]);
    expect(d).toEqual({ sequence: 3, creationDate: NOW, resourceOwner: INSTANCE_ID });
    expect(t.written()).toEqual([written(3, "instance.member.added", { userId: "u1", roles: ["IAM_OWNER_VIEWER", "IAM_USER_MANAGER"] })]);
    expect(t.writtenClaims()).toEqual([{ action: "add", type: "member", field: `${INSTANCE_ID}:u1` }]);
    expect(t.pushes[0]!.expected).toEqual({ "user:u1": 1, "org:org1": 1, "instance:instance1": 2 });
  });

  it("accepts an empty role list, as ZITADEL does", async () => {
    const t = given();
    await addInstanceMember(t.deps, caller, "u1", []);
    expect(t.written()).toEqual([written(3, "instance.member.added", { userId: "u1", roles: [] })]);
  });

  it("refuses a missing user id (INSTA-SDSfs) and non-IAM roles (INSTANCE-4m0fS)", async () => {
    const t = given();
    await expect(addInstanceMember(t.deps, caller, "", ["IAM_OWNER"])).rejects.toMatchObject({ kind: "InvalidArgument", id: "INSTA-SDSfs", message: "Errors.Invalid.Argument" });
    for (const roles of [["ORG_OWNER"], ["IAM_OWNER", "FOO"], ["SELF_MANAGEMENT_GLOBAL"]])
      await expect(addInstanceMember(t.deps, caller, "u1", roles)).rejects.toMatchObject({ kind: "InvalidArgument", id: "INSTANCE-4m0fS", message: "Errors.IAM.MemberInvalid" });
    expect(t.pushes).toEqual([]);
  });

  it("refuses unknown and removed users, and users of a removed org (INSTA-GSXOn)", async () => {
    const t = given();
    for (const userId of ["nobody", "gone", "orphan"])
      await expect(addInstanceMember(t.deps, caller, userId, ["IAM_OWNER"])).rejects.toMatchObject({
        kind: "FailedPrecondition",
        id: "INSTA-GSXOn",
        message: "User could not be found",
      });
    expect(t.pushes).toEqual([]);
  });

  it("refuses a member twice (INSTA-pFDwe), from the state and from the claim with the instance's error", async () => {
    const t = given();
    const exists = { kind: "AlreadyExists", id: "INSTA-pFDwe", message: "Errors.Instance.Member.AlreadyExists" };
    t.given(memberAdded("u1", ["IAM_OWNER"]));
    await expect(addInstanceMember(t.deps, caller, "u1", ["IAM_OWNER"])).rejects.toMatchObject(exists);
    const c = given();
    c.givenClaims({ type: "member", field: `${INSTANCE_ID}:u1` });
    await expect(addInstanceMember(c.deps, caller, "u1", ["IAM_OWNER"])).rejects.toMatchObject(exists);
    expect([t.written(), c.written()]).toEqual([[], []]);
  });
});

describe("updateInstanceMember", () => {
  it("writes instance.member.changed with the new roles and answers changeDate", async () => {
    const t = given();
    t.given(memberAdded("u1", ["IAM_OWNER"]));
    const d = await updateInstanceMember(t.deps, caller, "u1", ["IAM_OWNER_VIEWER"]);
    expect(d).toEqual({ sequence: 4, changeDate: NOW, resourceOwner: INSTANCE_ID });
    expect(t.written()).toEqual([written(4, "instance.member.changed", { userId: "u1", roles: ["IAM_OWNER_VIEWER"] })]);
    expect(t.writtenClaims()).toEqual([]);
  });

  it("writes nothing for the same roles and answers the member's last event", async () => {
    const t = given();
    t.given(memberAdded("u1", ["IAM_OWNER", "IAM_LOGIN_CLIENT"]));
    expect(await updateInstanceMember(t.deps, caller, "u1", ["IAM_OWNER", "IAM_LOGIN_CLIENT"])).toEqual({
      sequence: 3,
      changeDate: new Date(GIVEN_AT.getTime() + 9000),
      resourceOwner: INSTANCE_ID,
    });
    expect(t.pushes).toEqual([]);
  });

  it("refuses a missing user id or no roles (INSTANCE-LiaZi), non-IAM roles (INSTANCE-3m9fs), and a non-member (INSTANCE-D8JxR)", async () => {
    const t = given();
    const invalid = { kind: "InvalidArgument", id: "INSTANCE-LiaZi", message: "Errors.IAM.MemberInvalid" };
    await expect(updateInstanceMember(t.deps, caller, "", ["IAM_OWNER"])).rejects.toMatchObject(invalid);
    await expect(updateInstanceMember(t.deps, caller, "u1", [])).rejects.toMatchObject(invalid);
    await expect(updateInstanceMember(t.deps, caller, "u1", ["ORG_OWNER"])).rejects.toMatchObject({ kind: "InvalidArgument", id: "INSTANCE-3m9fs", message: "Errors.IAM.MemberInvalid" });
    await expect(updateInstanceMember(t.deps, caller, "u1", ["IAM_OWNER"])).rejects.toMatchObject({ kind: "NotFound", id: "INSTANCE-D8JxR", message: "Errors.NotFound" });
    expect(t.pushes).toEqual([]);
  });
});

describe("removeInstanceMember", () => {
  it("writes instance.member.removed and frees the membership claim", async () => {
    const t = given();
    t.given(memberAdded("u1", ["IAM_OWNER"]));
    t.givenClaims({ type: "member", field: `${INSTANCE_ID}:u1` });
    const d = await removeInstanceMember(t.deps, caller, "u1");
    expect(d).toEqual({ sequence: 4, changeDate: NOW, resourceOwner: INSTANCE_ID });
    expect(t.written()).toEqual([written(4, "instance.member.removed", { userId: "u1" })]);
    expect(t.writtenClaims()).toEqual([{ action: "remove", type: "member", field: `${INSTANCE_ID}:u1` }]);
    expect(t.claimed("member", `${INSTANCE_ID}:u1`)).toBe(false);
  });

  it("succeeds without writing for a non-member", async () => {
    const t = given();
    t.given(memberAdded("u1", ["IAM_OWNER"]), instanceEvent("instance.member.removed", { userId: "u1" }));
    expect(await removeInstanceMember(t.deps, caller, "u1")).toEqual({ sequence: 4, changeDate: new Date(GIVEN_AT.getTime() + 10_000), resourceOwner: INSTANCE_ID });
    expect(await removeInstanceMember(t.deps, caller, "never")).toEqual({ sequence: 0, resourceOwner: INSTANCE_ID });
    expect(t.pushes).toEqual([]);
  });

  it("refuses a missing user id (INSTANCE-LiaZi)", async () => {
    const t = given();
    await expect(removeInstanceMember(t.deps, caller, "")).rejects.toMatchObject({ kind: "InvalidArgument", id: "INSTANCE-LiaZi", message: "ID missing" });
  });
});
