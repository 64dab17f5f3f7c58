import { describe, expect, it } from "vitest";
import type { AggregateType, StoredEvent } from "../events.js";
import { evolveOrg, orgDomainFromName, reduceInstance, reduceOrg } from "./org.js";

// Given these stored events (ZITADEL's types and payloads), then this org / instance state.

const T0 = Date.parse("2025-01-01T00:00:00.000Z");
const at = (i: number) => new Date(T0 + i * 1000);

function stream(aggregateType: AggregateType, id: string, events: [type: string, payload?: Record<string, unknown>][]): StoredEvent[] {
  return events.map(([type, payload], i) => ({
    instanceId: "i1",
    aggregateType,
    aggregateId: id,
    sequence: i + 1,
    position: i + 1,
    type,
    payload: payload ?? {},
    editor: "e",
    resourceOwner: id,
    createdAt: at(i),
  }));
}
const org = (...events: [string, Record<string, unknown>?][]) => reduceOrg("o1", stream("org", "o1", events));
const instance = (...events: [string, Record<string, unknown>?][]) => reduceInstance("i1", stream("instance", "i1", events));
const added: [string, Record<string, unknown>] = ["org.added", { name: "Acme" }];

describe("org reducer", () => {
  it("starts as an org that does not exist", () => {
    expect(org()).toEqual({ id: "o1", exists: false, state: 0, name: "", primaryDomain: "", credentialPolicy: { maxSecretLifetime: 0, maxKeyLifetime: 0, maxPatLifetime: 0 }, sequence: 0, members: new Map(), lastMemberEvent: new Map() });
  });

  it("org.added: an active org with its name; org.domain.primary.set sets the primary domain (added/verified alone do not)", () => {
    const o = org(added, ["org.domain.added", { domain: "acme.example.com" }], ["org.domain.verified", { domain: "acme.example.com" }]);
    expect(o).toMatchObject({ exists: true, state: 1, name: "Acme", primaryDomain: "", sequence: 3, createdAt: at(0), changedAt: at(2) });
    expect(org(added, ["org.domain.primary.set", { domain: "acme.example.com" }]).primaryDomain).toBe("acme.example.com");
  });

  it("org.changed renames (a payload without a name keeps it)", () => {
    expect(org(added, ["org.changed", { name: "Acme 2" }]).name).toBe("Acme 2");
    expect(org(added, ["org.changed", {}]).name).toBe("Acme");
  });

  it("org.deactivated → inactive (2), org.reactivated → active (1); both still exist", () => {
    expect(org(added, ["org.deactivated"])).toMatchObject({ state: 2, exists: true });
    expect(org(added, ["org.deactivated"], ["org.reactivated"])).toMatchObject({ state: 1, exists: true });
  });

  it("org.removed → removed (3) and no longer existing", () => {
    expect(org(added, ["org.deactivated"], ["org.removed", { name: "Acme" }])).toMatchObject({ state: 3, exists: false, sequence: 3 });
  });

  it("members: added with roles, changed replaces the roles and keeps the creation time, removed and cascade-removed drop them", () => {
    const o = org(
      added,
      ["org.member.added", { userId: "u1", roles: ["ORG_OWNER"] }],
      ["org.member.added", { userId: "u2", roles: ["ORG_OWNER_VIEWER"] }],
      ["org.member.changed", { userId: "u1", roles: ["ORG_USER_MANAGER", "ORG_OWNER"] }],
      ["org.member.added", { userId: "u3", roles: [] }],
      ["org.member.removed", { userId: "u2" }],
      ["org.member.cascade.removed", { userId: "u3" }],
    );
    expect([...o.members.values()]).toEqual([{ userId: "u1", roles: ["ORG_USER_MANAGER", "ORG_OWNER"], sequence: 4, createdAt: at(1), changedAt: at(3) }]);
    // The last member event per user survives removal (a no-op RemoveOrgMember reports it).
    expect(o.lastMemberEvent).toEqual(
      new Map([
        ["u1", { sequence: 4, at: at(3) }],
        ["u2", { sequence: 6, at: at(5) }],
        ["u3", { sequence: 7, at: at(6) }],
      ]),
    );
    expect(o.sequence).toBe(7);
  });

  it("org.member.changed for a non-member adds nobody", () => {
    const o = org(added, ["org.member.changed", { userId: "u9", roles: ["ORG_OWNER"] }]);
    expect(o.members.size).toBe(0);
  });

  it("instance member events do nothing to an org but move its sequence", () => {
    const o = org(added, ["instance.member.added", { userId: "u1", roles: ["IAM_OWNER"] }]);
    expect([o.members.size, o.lastMemberEvent.size, o.sequence]).toEqual([0, 0, 2]);
  });

  it("evolve brings a state forward one event at a time, the same as reducing the whole stream", () => {
    const events = stream("org", "o1", [added, ["org.member.added", { userId: "u1", roles: ["ORG_OWNER"] }], ["org.deactivated"]]);
    let o = reduceOrg("o1", []);
    for (const e of events) o = evolveOrg(o, e);
    expect(o).toEqual(reduceOrg("o1", events));
  });
});

describe("instance reducer", () => {
  it("instance.added, instance.iam.project.set and instance.default.org.set", () => {
    const i = instance(["instance.added", { name: "Portcullis" }], ["instance.iam.project.set", { iamProjectId: "p1" }], ["instance.default.org.set", { orgId: "o1" }]);
    expect(i).toEqual({
      id: "i1",
      exists: true,
      name: "Portcullis",
      projectId: "p1",
      defaultOrgId: "o1",
      sequence: 3,
      createdAt: at(0),
      members: new Map(),
      lastMemberEvent: new Map(),
    });
  });

  it("members: added, changed, removed and cascade-removed", () => {
    const i = instance(
      ["instance.added", { name: "Portcullis" }],
      ["instance.member.added", { userId: "u1", roles: ["IAM_OWNER"] }],
      ["instance.member.changed", { userId: "u1", roles: ["IAM_OWNER_VIEWER"] }],
      ["instance.member.added", { userId: "u2", roles: ["IAM_OWNER"] }],
      ["instance.member.added", { userId: "u3", roles: ["IAM_OWNER"] }],
      ["instance.member.removed", { userId: "u2" }],
      ["instance.member.cascade.removed", { userId: "u3" }],
    );
    expect([...i.members.values()]).toEqual([{ userId: "u1", roles: ["IAM_OWNER_VIEWER"], sequence: 3, createdAt: at(1), changedAt: at(2) }]);
    expect([...i.lastMemberEvent.keys()]).toEqual(["u1", "u2", "u3"]);
    expect(i.lastMemberEvent.get("u3")).toEqual({ sequence: 7, at: at(6) });
  });

  it("org member events are not instance members", () => {
    expect(instance(["org.member.added", { userId: "u1", roles: ["ORG_OWNER"] }]).members.size).toBe(0);
  });
});

describe("orgDomainFromName", () => {
  it.each([
    ["Acme", "acme.example.com"],
    ["  My New   Org ", "my-new-org.example.com"],
    ["Ünïcode & Co. 2", "ünïcode--co-2.example.com"],
    ["!!!", ".example.com"],
    ["a".repeat(70), `${"a".repeat(63)}.example.com`],
  ])("%j → %s", (name, domain) => {
    expect(orgDomainFromName(name, "example.com")).toBe(domain);
  });
});
