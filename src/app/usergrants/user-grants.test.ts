import { describe, expect, it } from "vitest";
import { NOW, callerIn, createHarness, orgEvent, projectEvent, userEvent, userGrantEvent, when } from "../core/testing/given.js";
import { decideRoleClaims, roleRequest } from "../oauth/role-claims.js";
import { decideWithCache } from "../core/lookup.js";
import { removeProject } from "../projects/projects.js";
import { removeProjectRole } from "../projects/project-roles.js";
import { projectGrantRemovalCascade, projectGrantRolesCascade } from "../projects/cascade.js";
import { removeUser } from "../users/users.js";
import { addUserGrant, bulkRemoveUserGrants, deactivateUserGrant, grantableRoles, reactivateUserGrant, removeUserGrant, updateUserGrant } from "./user-grants.js";
import { reduceProject } from "../../domain/projects/project.js";

const ORG = "org1";
const OTHER = "org2";
const P = "p1";
const caller = callerIn(ORG);

/** org1 with machine u1 and project p1 (roles read, write); org2 with machine u2. */
function given() {
  const t = createHarness({ ids: ["g9", "g8"] });
  t.given(
    orgEvent(ORG, "org.added", { name: "Acme" }),
    orgEvent(ORG, "org.domain.primary.set", { domain: "acme.example" }),
    orgEvent(OTHER, "org.added", { name: "Other" }),
    userEvent("u1", ORG, "user.machine.added", { userName: "bot", name: "Bot" }),
    userEvent("u2", OTHER, "user.machine.added", { userName: "bot2", name: "Bot 2" }),
    projectEvent(P, ORG, "project.added", { name: "Billing" }),
    projectEvent(P, ORG, "project.role.added", { key: "read", displayName: "Read" }),
    projectEvent(P, ORG, "project.role.added", { key: "write", displayName: "Write" }),
  );
  return t;
}
const grantOf = (t: ReturnType<typeof given>, id: string, roleKeys: string[], user = "u1") => {
  t.given(userGrantEvent(id, ORG, "user.grant.added", { userId: user, projectId: P, roleKeys }));
  t.givenClaims({ type: "user_grant", field: `${ORG}:${user}:${P}:` });
};
const written = (sequence: number, type: string, payload: Record<string, unknown>, id = "g9") => ({ aggregateType: "usergrant", aggregateId: id, resourceOwner: ORG, sequence, type, payload });

describe("addUserGrant", () => {
  it("given a machine and a project of the org, when granting roles, then user.grant.added with ZITADEL's payload and the user_grant claim", async () => {
    const t = given();
    const r = await addUserGrant(t.deps, caller, { userId: "u1", projectId: P, projectGrantId: "", roleKeys: ["read"] });
    expect(r).toEqual({ id: "g9", details: { sequence: 1, creationDate: NOW, resourceOwner: ORG } });
    expect(t.written()).toEqual([written(1, "user.grant.added", { userId: "u1", projectId: P, roleKeys: ["read"] })]);
    expect(t.writtenClaims()).toEqual([{ action: "add", type: "user_grant", field: `${ORG}:u1:${P}:` }]);
  });

  it("refuses an unknown role, an unknown project, another org's user, duplicates and a second grant, writing nothing", async () => {
    const t = given();
    const add = (g: Partial<{ userId: string; projectId: string; projectGrantId: string; roleKeys: string[] }>) =>
      when(() => addUserGrant(t.deps, caller, { userId: "u1", projectId: P, projectGrantId: "", roleKeys: [], ...g }));
    await expect(add({ roleKeys: ["admin"] })).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-mm9F4", message: "Errors.Project.Role.NotFound" });
    await expect(add({ projectId: "nope" })).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-3n77S", message: "Errors.Project.NotFound" });
    await expect(add({ userId: "u2" })).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-4f8sg", message: "Errors.User.NotFound" });
    await expect(add({ userId: "ghost" })).rejects.toMatchObject({ id: "COMMAND-4f8sg" });
    await expect(add({ roleKeys: ["read", "read"] })).rejects.toMatchObject({ kind: "InvalidArgument", id: "COMMAND-kVfMa" });
    await expect(add({ projectId: "" })).rejects.toMatchObject({ kind: "InvalidArgument", id: "COMMAND-kVfMa" });
    await expect(add({ projectGrantId: "pg1" })).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-4m9ff" });
    expect(t.written()).toEqual([]);
    grantOf(t, "g1", ["read"]);
    await expect(add({ roleKeys: ["write"] })).rejects.toMatchObject({ kind: "AlreadyExists", id: "V3-DKcYh", message: "Errors.UserGrant.AlreadyExists" });
    expect(t.written()).toEqual([]);
  });

  it("for a project granted to the org: the grant is resolved from the caller's org and its roles bound the keys", () => {
    const project = reduceProject(P, []);
    Object.assign(project, { exists: true, orgId: OTHER, roles: new Map([["read", {}], ["write", {}]]) });
    project.grants.set("pg1", { grantId: "pg1", grantedOrgId: ORG, roleKeys: ["read"], state: 1, sequence: 1, createdAt: NOW, changedAt: NOW });
    expect(grantableRoles(project, ORG, "")).toEqual({ projectGrantId: "pg1", roleKeys: new Set(["read"]) });
    expect(() => grantableRoles(project, "org3", "")).toThrow(expect.objectContaining({ id: "COMMAND-4m9ff" }));
    expect(() => grantableRoles(project, ORG, "pg2")).toThrow(expect.objectContaining({ id: "COMMAND-4m9ff" }));
  });
});

describe("update / deactivate / reactivate / remove", () => {
  it("changes the role keys, refusing the same keys (COMMAND-Rs8fy) and unknown grants (COMMAND-3M9sd)", async () => {
    const t = given();
    grantOf(t, "g9", ["read"]);
    await updateUserGrant(t.deps, caller, "g9", ["read", "write"]);
    expect(t.written()).toEqual([written(2, "user.grant.changed", { roleKeys: ["read", "write"] })]);
    await expect(updateUserGrant(t.deps, caller, "g9", ["read", "write"])).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-Rs8fy" });
    await expect(updateUserGrant(t.deps, caller, "g9", ["nope"])).rejects.toMatchObject({ id: "COMMAND-mm9F4" });
    await expect(updateUserGrant(t.deps, caller, "gx", ["read"])).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-3M9sd" });
    await expect(updateUserGrant(t.deps, callerIn(OTHER), "g9", ["read"])).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-3M9sd" });
  });

  it("deactivates and reactivates once each way, then removes and releases the claim", async () => {
    const t = given();
    grantOf(t, "g9", ["read"]);
    await expect(reactivateUserGrant(t.deps, caller, "g9")).rejects.toMatchObject({ id: "COMMAND-1ML0v" });
    await deactivateUserGrant(t.deps, caller, "g9");
    await expect(deactivateUserGrant(t.deps, caller, "g9")).rejects.toMatchObject({ id: "COMMAND-1S9gx" });
    await reactivateUserGrant(t.deps, caller, "g9");
    await removeUserGrant(t.deps, caller, "g9");
    expect(t.written().map((e) => e.type)).toEqual(["user.grant.deactivated", "user.grant.reactivated", "user.grant.removed"]);
    expect(t.claimed("user_grant", `${ORG}:u1:${P}:`)).toBe(false);
    await expect(removeUserGrant(t.deps, caller, "g9")).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-1My0t" });
    await expect(reactivateUserGrant(t.deps, caller, "g9")).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-Lp0gs" });
  });

  it("bulk removal removes every grant or none", async () => {
    const t = given();
    grantOf(t, "g1", ["read"]);
    t.given(userEvent("u3", ORG, "user.machine.added", { userName: "bot3", name: "Bot 3" }));
    grantOf(t, "g2", ["write"], "u3");
    await expect(bulkRemoveUserGrants(t.deps, caller, ["g1", "nope"])).rejects.toMatchObject({ id: "COMMAND-1My0t" });
    await expect(bulkRemoveUserGrants(t.deps, caller, [])).rejects.toMatchObject({ id: "COMMAND-5M0sd" });
    expect(t.written()).toEqual([]);
    await bulkRemoveUserGrants(t.deps, caller, ["g1", "g2"]);
    expect(t.written().map((e) => [e.aggregateId, e.type])).toEqual([["g1", "user.grant.removed"], ["g2", "user.grant.removed"]]);
  });
});

describe("cascades", () => {
  it("removing a role takes it out of every grant (user.grant.cascade.changed) in the same push", async () => {
    const t = given();
    grantOf(t, "g1", ["read", "write"]);
    await removeProjectRole(t.deps, caller, P, "write");
    expect(t.pushes.at(-1)!.events.map((e) => [e.aggregateId, e.type, e.payload])).toEqual([
      [P, "project.role.removed", { key: "write" }],
      ["g1", "user.grant.cascade.changed", { roleKeys: ["read"] }],
    ]);
  });

  it("removing the project or the user removes the grants (user.grant.cascade.removed) and frees their claims", async () => {
    const t = given();
    grantOf(t, "g1", ["read"]);
    await removeProject(t.deps, caller, P);
    expect(t.written().map((e) => [e.aggregateId, e.type])).toEqual([[P, "project.removed"], ["g1", "user.grant.cascade.removed"]]);
    expect(t.claimed("user_grant", `${ORG}:u1:${P}:`)).toBe(false);

    const t2 = given();
    grantOf(t2, "g1", ["read"]);
    await removeUser(t2.deps, caller, "u1");
    expect(t2.written().map((e) => [e.aggregateId, e.type])).toEqual([["u1", "user.removed"], ["g1", "user.grant.cascade.removed"]]);
  });

  it("a project grant's removal or role reduction reaches the user grants made under it", async () => {
    const t = given();
    t.given(userGrantEvent("g1", ORG, "user.grant.added", { userId: "u1", projectId: P, grantId: "pg1", roleKeys: ["read", "write"] }));
    const project = await t.deps.cache.get(t.deps.instanceId, "project", P);
    const load = (type: "usergrant", id: string) => t.deps.cache.get(t.deps.instanceId, type, id);
    expect((await projectGrantRolesCascade(t.deps, load as never, project, "pg1", ["read"])).events).toEqual([
      { aggregateType: "usergrant", aggregateId: "g1", resourceOwner: ORG, type: "user.grant.cascade.changed", payload: { roleKeys: ["read"] } },
    ]);
    const removal = await projectGrantRemovalCascade(t.deps, load as never, project, "pg1");
    expect(removal.events.map((e) => e.type)).toEqual(["user.grant.cascade.removed"]);
    expect(removal.uniques).toEqual([expect.objectContaining({ action: "remove", field: `${ORG}:u1:${P}:pg1` })]);
  });
});

describe("role claims", () => {
  const claims = (t: ReturnType<typeof given>, scopes: string[]) =>
    decideWithCache(t.deps, (_d, _a: null, lookup) => decideRoleClaims(lookup, "u1", roleRequest(scopes, [P])), null);
  const ROLES = "urn:zitadel:iam:org:projects:roles";

  it("given active grants, the claim is {roleKey: {orgId: primaryDomain}}; role scopes and org scopes filter", async () => {
    const t = given();
    grantOf(t, "g1", ["read", "write"]);
    expect(await claims(t, [ROLES])).toEqual({ [`urn:zitadel:iam:org:project:${P}:roles`]: { read: { [ORG]: "acme.example" }, write: { [ORG]: "acme.example" } } });
    expect(await claims(t, ["urn:zitadel:iam:org:project:role:write"])).toEqual({ [`urn:zitadel:iam:org:project:${P}:roles`]: { write: { [ORG]: "acme.example" } } });
    expect(await claims(t, [ROLES, `urn:zitadel:iam:org:roles:id:${OTHER}`])).toEqual({});
    expect(await claims(t, ["openid"])).toEqual({});
  });

  it("a deactivated grant, a deactivated project or a removed role is gone at once (CVE-2024-46999)", async () => {
    const t = given();
    grantOf(t, "g1", ["read", "write"]);
    t.given(projectEvent(P, ORG, "project.role.removed", { key: "write" }));
    expect(Object.keys((await claims(t, [ROLES]))[`urn:zitadel:iam:org:project:${P}:roles`] as object)).toEqual(["read"]);
    t.given(projectEvent(P, ORG, "project.deactivated"));
    expect(await claims(t, [ROLES])).toEqual({});
    t.given(projectEvent(P, ORG, "project.reactivated"), userGrantEvent("g1", ORG, "user.grant.deactivated"));
    expect(await claims(t, [ROLES])).toEqual({});
  });
});
