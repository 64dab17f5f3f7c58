import { describe, expect, it } from "vitest";
import { NOW, callerIn, createHarness, memberCaller, orgEvent, projectEvent, userEvent, when } from "../core/testing/given.js";
import { addProjectMember, removeProjectMember, updateProjectMember } from "./project-members.js";
import { addProjectRoles, removeProjectRole, updateProjectRole } from "./project-roles.js";
import { addProject, deactivateProject, reactivateProject, removeProject, updateProject } from "./projects.js";

const ORG = "org1";
const OTHER = "org2";
const P = "p1";
const caller = callerIn(ORG);
const settings = { name: "Billing", projectRoleAssertion: true, projectRoleCheck: false, hasProjectCheck: false, privateLabelingSetting: 0 };

/** org1 and org2, a machine u1 in org1, project p1 of org1 with role "read" and u1 as PROJECT_OWNER. */
function given() {
  const t = createHarness({ ids: ["p9"] });
  t.given(
    orgEvent(ORG, "org.added", { name: "Acme" }),
    orgEvent(OTHER, "org.added", { name: "Other" }),
    userEvent("u1", ORG, "user.machine.added", { userName: "bot", name: "Bot" }),
    userEvent("u2", OTHER, "user.machine.added", { userName: "bot2", name: "Bot 2" }),
    projectEvent(P, ORG, "project.added", { name: "Billing" }),
    projectEvent(P, ORG, "project.role.added", { key: "read", displayName: "Read" }),
    projectEvent(P, ORG, "project.member.added", { userId: "u1", roles: ["PROJECT_OWNER"] }),
  );
  t.givenClaims({ type: "project_names", field: "Billing" + ORG }, { type: "project_role", field: "read:" + P }, { type: "member", field: `${P}:u1` });
  return t;
}
const written = (sequence: number, type: string, payload: Record<string, unknown>, id = P) => ({ aggregateType: "project", aggregateId: id, resourceOwner: ORG, sequence, type, payload });
const nothingWritten = (t: ReturnType<typeof given>) => expect(t.written()).toEqual([]);

describe("addProject", () => {
  it("writes project.added with ZITADEL's omitempty payload and makes the caller PROJECT_OWNER, claiming name and membership", async () => {
    const t = given();
    const r = await addProject(t.deps, caller, { ...settings, name: " Invoices " });
    expect(r).toEqual({ id: "p9", details: { sequence: 1, creationDate: NOW, resourceOwner: ORG } });
    expect(t.written()).toEqual([
      written(1, "project.added", { name: "Invoices", projectRoleAssertion: true }, "p9"),
      written(2, "project.member.added", { userId: "admin1", roles: ["PROJECT_OWNER"] }, "p9"),
    ]);
    expect(t.writtenClaims()).toEqual([
      { action: "add", type: "project_names", field: "Invoices" + ORG },
      { action: "add", type: "member", field: "p9:admin1" },
    ]);
  });

  it("refuses an empty name (PROJECT-IOVCC) and a name the org already has (V3-DKcYh), writing nothing", async () => {
    const t = given();
    await expect(when(() => addProject(t.deps, caller, { ...settings, name: "  " }))).rejects.toMatchObject({ kind: "InvalidArgument", id: "PROJECT-IOVCC" });
    await expect(addProject(t.deps, caller, settings)).rejects.toMatchObject({ kind: "AlreadyExists", id: "V3-DKcYh", message: "Errors.Project.AlreadyExists" });
    nothingWritten(t);
    // Another org may use the name.
    await addProject(t.deps, callerIn(OTHER), settings);
    expect(t.written()[0]).toMatchObject({ type: "project.added", resourceOwner: OTHER });
  });
});

describe("updateProject", () => {
  it("writes only the fields that differ, and moves the name claim", async () => {
    const t = given();
    const d = await updateProject(t.deps, caller, P, { ...settings, name: "Billing2", projectRoleAssertion: false, hasProjectCheck: true });
    expect(d).toEqual({ sequence: 4, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([written(4, "project.changed", { name: "Billing2", hasProjectCheck: true })]);
    expect(t.writtenClaims()).toEqual([
      { action: "remove", type: "project_names", field: "Billing" + ORG },
      { action: "add", type: "project_names", field: "Billing2" + ORG },
    ]);
  });

  it("refuses no change (COMMAND-2M0fs), an unknown project or another org's (COMMAND-3M9sd)", async () => {
    const t = given();
    await expect(updateProject(t.deps, caller, P, { ...settings, projectRoleAssertion: false })).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-2M0fs" });
    await expect(updateProject(t.deps, caller, "nope", settings)).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-3M9sd", message: "Errors.Project.NotFound" });
    await expect(updateProject(t.deps, callerIn(OTHER), P, settings)).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-3M9sd" });
    nothingWritten(t);
  });
});

describe("deactivate / reactivate / remove", () => {
  it("deactivates an active project and reactivates an inactive one, refusing the other way round", async () => {
    const t = given();
    await expect(reactivateProject(t.deps, caller, P)).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-5M9bs" });
    await deactivateProject(t.deps, caller, P);
    await expect(deactivateProject(t.deps, caller, P)).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-mki55" });
    await reactivateProject(t.deps, caller, P);
    expect(t.written().map((e) => e.type)).toEqual(["project.deactivated", "project.reactivated"]);
  });

  it("removes a project: one project.removed releasing its name, role keys and memberships; then it is not found", async () => {
    const t = given();
    const d = await removeProject(t.deps, caller, P);
    expect(d).toEqual({ sequence: 4, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([written(4, "project.removed", {})]);
    expect(t.claimed("project_names", "Billing" + ORG)).toBe(false);
    expect(t.claimed("project_role", "read:" + P)).toBe(false);
    expect(t.claimed("member", `${P}:u1`)).toBe(false);
    await expect(removeProject(t.deps, caller, P)).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-3M9sd" });
    await expect(addProjectRoles(t.deps, caller, P, [{ key: "x", displayName: "X", group: "" }], false)).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-4M0fs" });
  });

  it("treats the project of a removed org as not found", async () => {
    const t = given();
    t.given(orgEvent(ORG, "org.removed", { name: "Acme" }));
    await expect(deactivateProject(t.deps, caller, P)).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-112M9" });
    nothingWritten(t);
  });
});

describe("project roles", () => {
  it("adds roles in bulk, each claimed; a key already there or twice in the request is V3-DKcYh and nothing is written", async () => {
    const t = given();
    const dup = { kind: "AlreadyExists", id: "V3-DKcYh", message: "Errors.Project.Role.AlreadyExists" };
    await expect(addProjectRoles(t.deps, caller, P, [{ key: "write", displayName: "W", group: "" }, { key: "read", displayName: "R", group: "" }], true)).rejects.toMatchObject(dup);
    await expect(addProjectRoles(t.deps, caller, P, [{ key: "a", displayName: "A", group: "" }, { key: "a", displayName: "A", group: "" }], true)).rejects.toMatchObject(dup);
    nothingWritten(t);
    await addProjectRoles(t.deps, caller, P, [{ key: "write", displayName: "Write", group: "g" }, { key: "admin", displayName: "Admin", group: "" }], true);
    expect(t.written()).toEqual([
      written(4, "project.role.added", { key: "write", displayName: "Write", group: "g" }),
      written(5, "project.role.added", { key: "admin", displayName: "Admin" }),
    ]);
    expect(t.writtenClaims().map((c) => c.field)).toEqual(["write:" + P, "admin:" + P]);
  });

  it("updates display name and group (only what changed), refusing no change and unknown keys", async () => {
    const t = given();
    await updateProjectRole(t.deps, caller, P, { key: "read", displayName: "Read", group: "reports" });
    expect(t.written()).toEqual([written(4, "project.role.changed", { key: "read", group: "reports" })]);
    await expect(updateProjectRole(t.deps, caller, P, { key: "read", displayName: "Read", group: "reports" })).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-5M0cs" });
    await expect(updateProjectRole(t.deps, caller, P, { key: "nope", displayName: "N", group: "" })).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-vv8M9" });
  });

  it("removes a role and releases its key; an unknown key is COMMAND-m9vMf", async () => {
    const t = given();
    await removeProjectRole(t.deps, caller, P, "read");
    expect(t.written()).toEqual([written(4, "project.role.removed", { key: "read" })]);
    expect(t.claimed("project_role", "read:" + P)).toBe(false);
    await expect(removeProjectRole(t.deps, caller, P, "read")).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-m9vMf" });
  });
});

describe("project members", () => {
  it("adds a user of any org with PROJECT_* roles; refuses other roles, duplicates and unknown users", async () => {
    const t = given();
    await addProjectMember(t.deps, caller, P, "u2", ["PROJECT_OWNER_VIEWER"]);
    expect(t.written()).toEqual([written(4, "project.member.added", { userId: "u2", roles: ["PROJECT_OWNER_VIEWER"] })]);
    await expect(addProjectMember(t.deps, caller, P, "u2", ["PROJECT_OWNER"])).rejects.toMatchObject({ kind: "AlreadyExists", id: "PROJECT-PtXi1" });
    await expect(addProjectMember(t.deps, caller, P, "u1", ["ORG_OWNER"])).rejects.toMatchObject({ kind: "InvalidArgument", id: "PROJECT-3m9ds" });
    await expect(addProjectMember(t.deps, caller, P, "ghost", ["PROJECT_OWNER"])).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-uXHNj" });
  });

  it("updates and removes; unchanged roles are PROJECT-LiaZi, a non-member PROJECT-D8JxR", async () => {
    const t = given();
    await expect(updateProjectMember(t.deps, caller, P, "u1", ["PROJECT_OWNER"])).rejects.toMatchObject({ kind: "FailedPrecondition", id: "PROJECT-LiaZi" });
    await updateProjectMember(t.deps, caller, P, "u1", ["PROJECT_OWNER_VIEWER"]);
    await removeProjectMember(t.deps, caller, P, "u1");
    expect(t.written().map((e) => e.type)).toEqual(["project.member.changed", "project.member.removed"]);
    await expect(removeProjectMember(t.deps, caller, P, "u1")).rejects.toMatchObject({ kind: "NotFound", id: "PROJECT-D8JxR" });
  });

  it("applies the privilege ceiling: a PROJECT_OWNER_VIEWER may not make anyone PROJECT_OWNER; a PROJECT_OWNER may", async () => {
    const t = given();
    t.given(
      userEvent("v", ORG, "user.machine.added", { userName: "viewer", name: "V" }),
      projectEvent(P, ORG, "project.member.added", { userId: "v", roles: ["PROJECT_OWNER_VIEWER"] }),
    );
    await expect(addProjectMember(t.deps, memberCaller(ORG, "v"), P, "u2", ["PROJECT_OWNER"])).rejects.toMatchObject({ kind: "PermissionDenied", id: "AUTHZ-ceiling" });
    await addProjectMember(t.deps, memberCaller(ORG, "u1"), P, "u2", ["PROJECT_OWNER"]);
    expect(t.written()).toHaveLength(1);
  });
});
