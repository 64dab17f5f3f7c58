import { describe, expect, it } from "vitest";
import { GIVEN_AT, NOW, callerIn, createHarness, orgEvent, projectEvent } from "../core/testing/given.js";
import { removeProjectRole } from "./project-roles.js";
import { addProjectGrant, deactivateProjectGrant, reactivateProjectGrant, removeProjectGrant, updateProjectGrant } from "./project-grants.js";
import { removeProject } from "./projects.js";

const ORG = "org1";
const GRANTED = "org2";
const THIRD = "org3";
const P = "p1";
const G = "g1";
const caller = callerIn(ORG);

/** Project p1 of org1 with roles read, write, admin; grant g1 of p1 to org2 with read and write. */
function given() {
  const t = createHarness({ ids: ["g9"] });
  t.given(
    orgEvent(ORG, "org.added", { name: "Acme" }),
    orgEvent(GRANTED, "org.added", { name: "Partner" }),
    orgEvent(THIRD, "org.added", { name: "Third" }),
    projectEvent(P, ORG, "project.added", { name: "Billing" }),
    projectEvent(P, ORG, "project.role.added", { key: "read", displayName: "Read" }),
    projectEvent(P, ORG, "project.role.added", { key: "write", displayName: "Write" }),
    projectEvent(P, ORG, "project.role.added", { key: "admin", displayName: "Admin" }),
    projectEvent(P, ORG, "project.grant.added", { grantId: G, grantedOrgId: GRANTED, roleKeys: ["read", "write"] }),
  );
  t.givenClaims({ type: "project_grant", field: `${GRANTED}:${P}` });
  return t;
}
const written = (sequence: number, type: string, payload: Record<string, unknown>) => ({ aggregateType: "project", aggregateId: P, resourceOwner: ORG, sequence, type, payload });
const nothingWritten = (t: ReturnType<typeof given>) => expect(t.written()).toEqual([]);

describe("addProjectGrant", () => {
  it("given a project with roles, when granted to another org, then project.grant.added with ZITADEL's payload and the (granted org, project) claim", async () => {
    const t = given();
    const r = await addProjectGrant(t.deps, caller, P, THIRD, ["admin"]);
    expect(r).toEqual({ grantId: "g9", details: { sequence: 6, creationDate: NOW, resourceOwner: ORG } });
    expect(t.written()).toEqual([written(6, "project.grant.added", { grantId: "g9", grantedOrgId: THIRD, roleKeys: ["admin"] })]);
    expect(t.writtenClaims()).toEqual([{ action: "add", type: "project_grant", field: `${THIRD}:${P}` }]);
  });

  it("leaves an empty role list out of the payload (omitempty)", async () => {
    const t = given();
    await addProjectGrant(t.deps, caller, P, THIRD, []);
    expect(t.written()[0]?.payload).toEqual({ grantId: "g9", grantedOrgId: THIRD });
  });

  it("refuses missing ids, an unknown or another org's project, an unknown org, the own org, a duplicate and unknown keys, writing nothing", async () => {
    const t = given();
    const cases: [() => Promise<unknown>, Record<string, string>][] = [
      [() => addProjectGrant(t.deps, caller, "", THIRD, []), { kind: "InvalidArgument", id: "COMMAND-FYRnWEzBzV" }],
      [() => addProjectGrant(t.deps, caller, P, "", []), { kind: "InvalidArgument", id: "COMMAND-PPhHpWGRAE" }],
      [() => addProjectGrant(t.deps, caller, "nope", THIRD, []), { kind: "FailedPrecondition", id: "COMMAND-m9gsd", message: "Errors.Project.NotFound" }],
      [() => addProjectGrant(t.deps, callerIn(THIRD), P, GRANTED, []), { kind: "FailedPrecondition", id: "COMMAND-m9gsd" }],
      [() => addProjectGrant(t.deps, caller, P, "ghost-org", []), { kind: "FailedPrecondition", id: "COMMAND-3m9gg", message: "Errors.Org.NotFound" }],
      [() => addProjectGrant(t.deps, caller, P, ORG, []), { kind: "FailedPrecondition", id: "PROJECT-ckUpbvboAH", message: "Errors.Project.Grant.Invalid" }],
      [() => addProjectGrant(t.deps, caller, P, GRANTED, ["read"]), { kind: "AlreadyExists", id: "V3-DKcYh", message: "Errors.Project.Grant.AlreadyExists" }],
      [() => addProjectGrant(t.deps, caller, P, THIRD, ["read", "nope"]), { kind: "FailedPrecondition", id: "COMMAND-6m9gd", message: "Errors.Project.Role.NotFound" }],
    ];
    for (const [run, error] of cases) await expect(run()).rejects.toMatchObject(error);
    nothingWritten(t);
  });

  it("refuses a removed granted org", async () => {
    const t = given();
    t.given(orgEvent(THIRD, "org.removed", { name: "Third" }));
    await expect(addProjectGrant(t.deps, caller, P, THIRD, [])).rejects.toMatchObject({ id: "COMMAND-3m9gg" });
  });
});

describe("updateProjectGrant", () => {
  it("replaces the role keys; the same keys write nothing and answer the grant's details", async () => {
    const t = given();
    const same = await updateProjectGrant(t.deps, caller, P, G, ["read", "write"]);
    // The grant's last event (given before NOW).
    expect(same).toMatchObject({ sequence: 5, resourceOwner: ORG });
    expect(same.changeDate!.getTime()).toBeGreaterThanOrEqual(GIVEN_AT.getTime());
    expect(same.changeDate!.getTime()).toBeLessThan(NOW.getTime());
    nothingWritten(t);
    const d = await updateProjectGrant(t.deps, caller, P, G, ["read", "admin"]);
    expect(d).toEqual({ sequence: 6, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([written(6, "project.grant.changed", { grantId: G, roleKeys: ["read", "admin"] })]);
  });

  it("refuses a missing id, an unknown grant, another org's project, unknown keys", async () => {
    const t = given();
    await expect(updateProjectGrant(t.deps, caller, P, "", [])).rejects.toMatchObject({ kind: "InvalidArgument", id: "PROJECT-1j83s" });
    await expect(updateProjectGrant(t.deps, caller, P, "nope", [])).rejects.toMatchObject({ kind: "NotFound", id: "PROJECT-D8JxR", message: "Errors.Project.Grant.NotFound" });
    await expect(updateProjectGrant(t.deps, callerIn(GRANTED), P, G, [])).rejects.toMatchObject({ kind: "NotFound", id: "PROJECT-D8JxR" });
    await expect(updateProjectGrant(t.deps, caller, P, G, ["ghost"])).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-6m9gd" });
    nothingWritten(t);
  });
});

describe("deactivate / reactivate / remove", () => {
  it("deactivates and reactivates; the state it is already in writes nothing", async () => {
    const t = given();
    await reactivateProjectGrant(t.deps, caller, P, G);
    nothingWritten(t);
    await deactivateProjectGrant(t.deps, caller, P, G);
    await deactivateProjectGrant(t.deps, caller, P, G);
    await reactivateProjectGrant(t.deps, caller, P, G);
    expect(t.written()).toEqual([written(6, "project.grant.deactivated", { grantId: G }), written(7, "project.grant.reactivated", { grantId: G })]);
    await expect(deactivateProjectGrant(t.deps, caller, P, "")).rejects.toMatchObject({ kind: "InvalidArgument", id: "PROJECT-p0s4V" });
    await expect(deactivateProjectGrant(t.deps, caller, "nope", G)).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-4M0fs" });
    await expect(reactivateProjectGrant(t.deps, caller, P, "nope")).rejects.toMatchObject({ kind: "NotFound", id: "PROJECT-D8JxR" });
  });

  it("removes a grant, releasing its claim: then it is not found and the org may be granted again", async () => {
    const t = given();
    const d = await removeProjectGrant(t.deps, caller, P, G);
    expect(d).toEqual({ sequence: 6, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([written(6, "project.grant.removed", { grantId: G })]);
    expect(t.claimed("project_grant", `${GRANTED}:${P}`)).toBe(false);
    await expect(removeProjectGrant(t.deps, caller, P, G)).rejects.toMatchObject({ kind: "NotFound", id: "PROJECT-D8JxR" });
    await expect(removeProjectGrant(t.deps, caller, P, "")).rejects.toMatchObject({ kind: "InvalidArgument", id: "PROJECT-1m9fJ" });
    await addProjectGrant(t.deps, caller, P, GRANTED, []);
    expect(t.claimed("project_grant", `${GRANTED}:${P}`)).toBe(true);
  });
});

describe("cascades on the project", () => {
  it("given grants holding a role, when the role is removed, then project.grant.cascade.changed without the key in the same push", async () => {
    const t = given();
    t.given(projectEvent(P, ORG, "project.grant.added", { grantId: "g2", grantedOrgId: THIRD, roleKeys: ["admin"] }));
    await removeProjectRole(t.deps, caller, P, "write");
    expect(t.written()).toEqual([written(7, "project.role.removed", { key: "write" }), written(8, "project.grant.cascade.changed", { grantId: G, roleKeys: ["read"] })]);
    expect(t.pushes).toHaveLength(1);
    // The last key gone: an empty list, left out of the payload.
    await removeProjectRole(t.deps, caller, P, "admin");
    expect(t.written().slice(2)).toEqual([written(9, "project.role.removed", { key: "admin" }), written(10, "project.grant.cascade.changed", { grantId: "g2" })]);
    // The grant keeps what remains.
    await updateProjectGrant(t.deps, caller, P, "g2", ["read"]);
    expect(t.written().at(-1)).toMatchObject({ type: "project.grant.changed", payload: { grantId: "g2", roleKeys: ["read"] } });
  });

  it("given a grant, when the project is removed, then the grant's claim is released and the grant is gone", async () => {
    const t = given();
    await removeProject(t.deps, caller, P);
    expect(t.claimed("project_grant", `${GRANTED}:${P}`)).toBe(false);
    await expect(deactivateProjectGrant(t.deps, caller, P, G)).rejects.toMatchObject({ id: "COMMAND-4M0fs" });
  });
});
