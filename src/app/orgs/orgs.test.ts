import { describe, expect, it } from "vitest";
import type { Row } from "../../store/sql.js";
import { INSTANCE_ID, NOW, callerIn, createHarness, instanceEvent, orgEvent, userEvent, when, type GivenEvent } from "../core/testing/given.js";
import { addOrg, deactivateOrg, reactivateOrg, removeOrg, updateOrg } from "./orgs.js";

// The instance's host is auth.example.com (EXTERNAL_URL): org domains are "<label>.auth.example.com".
const HOST = "auth.example.com";
const ORG = "org1";
const caller = callerIn(ORG);

/**
 * addOrg, updateOrg and removeOrg still read the proj_orgs / proj_users read models through
 * deps.store.sql (names and domains taken before claims existed; the usernames of a removed org's
 * users). The stub answers those reads: by default nothing is found, so the claims decide.
 */
const readModel =
  (answer: (text: string, params: readonly unknown[]) => Row[] = () => []) =>
  (text: string, params: readonly unknown[]) => {
    expect(text).toMatch(/FROM proj_(orgs|users) /);
    return answer(text, params);
  };

const orgWithDomain = (id: string, name: string, domain: string): GivenEvent[] => [
  orgEvent(id, "org.added", { name }),
  orgEvent(id, "org.domain.added", { domain }),
  orgEvent(id, "org.domain.verified", { domain }),
  orgEvent(id, "org.domain.primary.set", { domain }),
];
const nameTaken = { kind: "AlreadyExists", id: "V3-DKcYh", message: "Organisation's name or id already taken" };
const domainTaken = { kind: "AlreadyExists", id: "V3-DKcYh", message: "Domain already exists" };

describe("addOrg", () => {
  it("writes the org, its derived domain (added, verified, primary) and the caller as ORG_OWNER, with their claims", async () => {
    const t = createHarness({ ids: ["o9"], sql: readModel() });
    const r = await addOrg(t.deps, caller, "  My New Org ");
    expect(r).toEqual({ id: "o9", details: { sequence: 5, creationDate: NOW, resourceOwner: "o9" } });
    const domain = `my-new-org.${HOST}`;
    const e = (sequence: number, type: string, payload: Record<string, unknown>) => ({ aggregateType: "org", aggregateId: "o9", resourceOwner: "o9", sequence, type, payload });
    expect(t.written()).toEqual([
      e(1, "org.added", { name: "My New Org" }),
      e(2, "org.domain.added", { domain }),
      e(3, "org.domain.verified", { domain }),
      e(4, "org.domain.primary.set", { domain }),
      e(5, "org.member.added", { userId: "admin1", roles: ["ORG_OWNER"] }),
    ]);
    expect(t.writtenClaims()).toEqual([
      { action: "add", type: "org_name", field: "my new org" },
      { action: "add", type: "org_domain", field: domain },
      { action: "add", type: "member", field: "o9:admin1" },
    ]);
    expect(t.pushes[0]!.expected).toEqual({ "org:o9": 0 });
  });

  it("derives the domain from letters, digits and dashes only, lower-cased", async () => {
    const t = createHarness({ ids: ["o9"], sql: readModel() });
    await addOrg(t.deps, caller, "Ünïcode & Co. 2");
    expect(t.written()[1]!.payload).toEqual({ domain: `ünïcode--co-2.${HOST}` });
  });

  it("refuses a taken name in any case (claim), and a taken domain under another name", async () => {
    const t = createHarness({ ids: ["o9", "o10"], sql: readModel() });
    t.givenClaims({ type: "org_name", field: "acme" }, { type: "org_domain", field: `other-org.${HOST}` });
    await expect(addOrg(t.deps, caller, "ACME")).rejects.toMatchObject(nameTaken);
    await expect(addOrg(t.deps, caller, "Other Org")).rejects.toMatchObject(domainTaken);
    expect(t.written()).toEqual([]);
    expect(t.claimed("member", "o9:admin1")).toBe(false);
  });

  it("reports a name the read model knows before its domain (the first org predates domain claims)", async () => {
    const t = createHarness({ sql: readModel((text) => (text.includes("lower(name)") ? [{ "?column?": 1 }] : [])) });
    await expect(addOrg(t.deps, caller, "Acme")).rejects.toMatchObject(nameTaken);
    const d = createHarness({ sql: readModel((text) => (text.includes("lower(primary_domain)") ? [{ "?column?": 1 }] : [])) });
    await expect(addOrg(d.deps, caller, "Acme")).rejects.toMatchObject(domainTaken);
    expect([t.pushes, d.pushes]).toEqual([[], []]);
  });

  it("refuses a blank name (EVENT-Mf9sd) and one without a letter or digit (ORG-RrfXY)", async () => {
    const t = createHarness({ sql: readModel() });
    await expect(when(() => addOrg(t.deps, caller, "   "))).rejects.toMatchObject({ kind: "InvalidArgument", id: "EVENT-Mf9sd", message: "Organisation is invalid" });
    await expect(when(() => addOrg(t.deps, caller, "!!!"))).rejects.toMatchObject({ kind: "InvalidArgument", id: "ORG-RrfXY" });
    expect(t.pushes).toEqual([]);
  });
});

describe("addOrg with a chosen id and admins (v2 AddOrganization)", () => {
  it("makes the named existing users members (ORG_OWNER when no role is given) instead of the caller", async () => {
    const t = createHarness({ sql: readModel() });
    t.given(orgEvent(ORG, "org.added", { name: "Acme" }), userEvent("u1", ORG, "user.machine.added", { userName: "bot", name: "Bot" }), userEvent("u2", ORG, "user.machine.added", { userName: "bot2", name: "Bot" }));
    const r = await addOrg(t.deps, caller, "Chosen", { orgId: "chosen", admins: [{ userId: "u1", roles: [] }, { userId: "u2", roles: ["ORG_USER_MANAGER"] }] });
    expect(r.id).toBe("chosen");
    expect(t.written().filter((e) => e.type === "org.member.added").map((e) => e.payload)).toEqual([
      { userId: "u1", roles: ["ORG_OWNER"] },
      { userId: "u2", roles: ["ORG_USER_MANAGER"] },
    ]);
  });

  it("refuses a taken id, an unknown admin and a role that is no org role, writing nothing", async () => {
    const t = createHarness({ sql: readModel() });
    t.given(orgEvent(ORG, "org.added", { name: "Acme" }), userEvent("u1", ORG, "user.machine.added", { userName: "bot", name: "Bot" }));
    await expect(when(() => addOrg(t.deps, caller, "Again", { orgId: ORG }))).rejects.toMatchObject(nameTaken);
    await expect(when(() => addOrg(t.deps, caller, "Nobody", { admins: [{ userId: "nobody", roles: [] }] }))).rejects.toMatchObject({
      kind: "FailedPrecondition",
      id: "ORG-GoXOn",
    });
    await expect(when(() => addOrg(t.deps, caller, "Iam", { admins: [{ userId: "u1", roles: ["IAM_OWNER"] }] }))).rejects.toMatchObject({
      kind: "InvalidArgument",
      id: "Org-4N8es",
    });
    expect(t.written()).toEqual([]);
  });
});

describe("updateOrg", () => {
  const given = (primary = `acme.${HOST}`) => {
    const t = createHarness({ sql: readModel() });
    t.given(...orgWithDomain(ORG, "Acme", primary));
    t.givenClaims({ type: "org_name", field: "acme" }, { type: "org_domain", field: primary });
    return t;
  };

  it("renames the org and moves the domain derived from the old name to the new one; answers creationDate", async () => {
    const t = given();
    const d = await updateOrg(t.deps, caller, " Acme Two ");
    expect(d).toEqual({ sequence: 9, creationDate: NOW, resourceOwner: ORG });
    const e = (sequence: number, type: string, payload: Record<string, unknown>) => ({ aggregateType: "org", aggregateId: ORG, resourceOwner: ORG, sequence, type, payload });
    const newDomain = `acme-two.${HOST}`;
    expect(t.written()).toEqual([
      e(5, "org.changed", { name: "Acme Two" }),
      e(6, "org.domain.added", { domain: newDomain }),
      e(7, "org.domain.verified", { domain: newDomain }),
      e(8, "org.domain.primary.set", { domain: newDomain }),
      e(9, "org.domain.removed", { domain: `acme.${HOST}`, isVerified: true }),
    ]);
    expect(t.writtenClaims()).toEqual([
      { action: "remove", type: "org_name", field: "acme" },
      { action: "add", type: "org_name", field: "acme two" },
      { action: "remove", type: "org_domain", field: `acme.${HOST}` },
      { action: "add", type: "org_domain", field: newDomain },
    ]);
    expect([t.claimed("org_name", "acme"), t.claimed("org_domain", `acme.${HOST}`)]).toEqual([false, false]);
  });

  it("changes only the name when only its case changes (same claims, same domain)", async () => {
    const t = given();
    const d = await updateOrg(t.deps, caller, "ACME");
    expect(d.sequence).toBe(5);
    expect(t.written()).toEqual([expect.objectContaining({ type: "org.changed", payload: { name: "ACME" } })]);
    expect(t.writtenClaims()).toEqual([]);
  });

  it("keeps a primary domain that is not the one derived from the name", async () => {
    const t = given("custom.example.org");
    await updateOrg(t.deps, caller, "Renamed");
    expect(t.written().map((e) => e.type)).toEqual(["org.changed"]);
    expect(t.writtenClaims()).toEqual([
      { action: "remove", type: "org_name", field: "acme" },
      { action: "add", type: "org_name", field: "renamed" },
    ]);
  });

  it("refuses the same name (ORG-4VSdf), a taken name or domain, and writes nothing", async () => {
    const t = given();
    t.givenClaims({ type: "org_name", field: "taken" }, { type: "org_domain", field: `taken-too.${HOST}` });
    await expect(updateOrg(t.deps, caller, "Acme")).rejects.toMatchObject({ kind: "FailedPrecondition", id: "ORG-4VSdf", message: "Organisation not changed" });
    await expect(updateOrg(t.deps, caller, "Taken")).rejects.toMatchObject(nameTaken);
    await expect(updateOrg(t.deps, caller, "Taken Too")).rejects.toMatchObject(domainTaken);
    expect(t.written()).toEqual([]);
    expect([t.claimed("org_name", "acme"), t.claimed("org_domain", `acme.${HOST}`)]).toEqual([true, true]);
  });

  it("refuses a blank name (EVENT-Mf9sd) and an org that does not exist (ORG-1MRds)", async () => {
    const t = createHarness({ sql: readModel() });
    await expect(when(() => updateOrg(t.deps, caller, " "))).rejects.toMatchObject({ kind: "InvalidArgument", id: "EVENT-Mf9sd" });
    await expect(updateOrg(t.deps, caller, "x")).rejects.toMatchObject({ kind: "NotFound", id: "ORG-1MRds", message: "Organisation not found" });
    t.given(orgEvent(ORG, "org.added", { name: "Acme" }), orgEvent(ORG, "org.removed", { name: "Acme" }));
    await expect(updateOrg(t.deps, caller, "x")).rejects.toMatchObject({ id: "ORG-1MRds" });
    expect(t.pushes).toEqual([]);
  });
});

describe("deactivateOrg and reactivateOrg", () => {
  const given = (...more: GivenEvent[]) => {
    const t = createHarness();
    t.given(orgEvent(ORG, "org.added", { name: "Acme" }), ...more);
    return t;
  };

  it("deactivate writes org.deactivated and answers changeDate", async () => {
    const t = given();
    expect(await deactivateOrg(t.deps, caller)).toEqual({ sequence: 2, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([{ aggregateType: "org", aggregateId: ORG, resourceOwner: ORG, sequence: 2, type: "org.deactivated", payload: {} }]);
  });

  it("reactivate writes org.reactivated", async () => {
    const t = given(orgEvent(ORG, "org.deactivated"));
    expect(await reactivateOrg(t.deps, caller)).toEqual({ sequence: 3, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([{ aggregateType: "org", aggregateId: ORG, resourceOwner: ORG, sequence: 3, type: "org.reactivated", payload: {} }]);
  });

  it("refuses to deactivate twice (EVENT-Dbs2g) or reactivate an active org (EVENT-bfnrh)", async () => {
    await expect(deactivateOrg(given(orgEvent(ORG, "org.deactivated")).deps, caller)).rejects.toMatchObject({
      kind: "FailedPrecondition",
      id: "EVENT-Dbs2g",
      message: "Organisation is already deactivated",
    });
    await expect(reactivateOrg(given().deps, caller)).rejects.toMatchObject({ kind: "FailedPrecondition", id: "EVENT-bfnrh", message: "Organisation is already active" });
    await expect(reactivateOrg(given(orgEvent(ORG, "org.deactivated"), orgEvent(ORG, "org.reactivated")).deps, caller)).rejects.toMatchObject({ id: "EVENT-bfnrh" });
  });

  it("does not find a missing or removed org (ORG-oL9nT, ORG-Dgf3g)", async () => {
    for (const t of [createHarness(), given(orgEvent(ORG, "org.removed", { name: "Acme" }))]) {
      await expect(deactivateOrg(t.deps, caller)).rejects.toMatchObject({ kind: "NotFound", id: "ORG-oL9nT", message: "Organisation not found" });
      await expect(reactivateOrg(t.deps, caller)).rejects.toMatchObject({ kind: "NotFound", id: "ORG-Dgf3g", message: "Organisation not found" });
      expect(t.pushes).toEqual([]);
    }
  });
});

describe("removeOrg", () => {
  const given = (usernames: string[] = []) => {
    const t = createHarness({
      sql: readModel((text, params) => {
        expect(params).toEqual([INSTANCE_ID, ORG]);
        return usernames.map((username) => ({ username }));
      }),
    });
    t.given(instanceEvent("instance.added", { name: "Portcullis" }), instanceEvent("instance.default.org.set", { orgId: "default" }));
    t.given(...orgWithDomain(ORG, "Acme", `acme.${HOST}`));
    t.givenClaims({ type: "org_name", field: "acme" }, { type: "org_domain", field: `acme.${HOST}` }, { type: "usernames", field: "bot" });
    return t;
  };

  it("writes org.removed with the name and frees the name, the domain and the usernames of its users; the instance owns the write", async () => {
    const t = given(["Bot"]);
    const d = await removeOrg(t.deps, caller);
    expect(d).toEqual({ sequence: 5, changeDate: NOW, resourceOwner: INSTANCE_ID });
    expect(t.written()).toEqual([{ aggregateType: "org", aggregateId: ORG, resourceOwner: ORG, sequence: 5, type: "org.removed", payload: { name: "Acme" } }]);
    expect(t.writtenClaims()).toEqual([
      { action: "remove", type: "org_name", field: "acme" },
      { action: "remove", type: "org_domain", field: `acme.${HOST}` },
      { action: "remove", type: "usernames", field: "bot" },
    ]);
    expect(t.claimed("usernames", "bot")).toBe(false);
    // Decided on the instance (default org) and the org: both expected unchanged.
    expect(t.pushes[0]!.expected).toEqual({ "instance:instance1": 2, "org:org1": 4 });
  });

  it("refuses the instance's default org (COMMA-wG9p1)", async () => {
    const t = given();
    await expect(removeOrg(t.deps, callerIn("default"))).rejects.toMatchObject({
      kind: "FailedPrecondition",
      id: "COMMA-wG9p1",
      message: "Default Organisation must not be deleted",
    });
    expect(t.pushes).toEqual([]);
  });

  it("does not find a missing or already removed org (COMMA-aps2n)", async () => {
    const t = given();
    await expect(removeOrg(t.deps, callerIn("nope"))).rejects.toMatchObject({ kind: "NotFound", id: "COMMA-aps2n", message: "Organisation not found" });
    t.given(orgEvent(ORG, "org.removed", { name: "Acme" }));
    await expect(removeOrg(t.deps, caller)).rejects.toMatchObject({ id: "COMMA-aps2n" });
    expect(t.pushes).toEqual([]);
  });
});
