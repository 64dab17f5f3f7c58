import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userV2Handlers } from "../src/api/users/v2-users.js";
import { rolesGrant } from "../src/domain/orgs/roles.js";
import { errorOf, organizationServiceV2, userServiceV2 } from "./helpers/clients.js";
import { createMachine, createOrg, createPrincipal } from "./helpers/principals.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

/**
 * The authorization matrix of the v2 services: every implemented UserService method × callers × a
 * user in the caller's org or in another org, over Connect. v2 authorizes in the org the user
 * belongs to (x-zitadel-orgid plays no part: every call here sends the other org's id in it), with
 * the permission ZITADEL's v2 command checks; a refused write changes nothing.
 */

interface Actor {
  name: string;
  pat: string;
  iamRoles?: string[];
  orgRoles: Partial<Record<"own" | "other", string[]>>;
}

type Target = "own" | "other";

/** The permission each v2 method checks in the user's org (ZITADEL's v2 commands and queries). */
const USER_METHODS: Record<string, string> = {
  createUser: "user.write",
  getUserByID: "user.read",
  updateUser: "user.write",
  deactivateUser: "user.write",
  reactivateUser: "user.write",
  lockUser: "user.write",
  unlockUser: "user.write",
  deleteUser: "user.delete",
  addSecret: "user.write",
  removeSecret: "user.write",
  addKey: "user.write",
  removeKey: "user.write",
  addPersonalAccessToken: "user.write",
  removePersonalAccessToken: "user.write",
  setUserMetadata: "user.write",
  listUserMetadata: "user.read",
  deleteUserMetadata: "user.write",
};
/** Searches: filtered by user.read, never refused. */
const SEARCHES = ["listUsers", "listKeys", "listPersonalAccessTokens"];

const inAnHour = () => timestampFromDate(new Date(Date.now() + 3600_000));

function request(method: string, userId: string, orgId: string, n: number): Record<string, unknown> {
  switch (method) {
    case "createUser":
      return { organizationId: orgId, username: `matrix-v2-new-${n}`, userType: { case: "machine", value: { name: "N" } } };
    case "updateUser":
      return { userId, userType: { case: "machine", value: { name: `renamed-${n}` } } };
    case "addKey":
    case "addPersonalAccessToken":
      return { userId, expirationDate: inAnHour() };
    case "removeKey":
      return { userId, keyId: "no-key" };
    case "removePersonalAccessToken":
      return { userId, tokenId: "no-token" };
    case "setUserMetadata":
      return { userId, metadata: [{ key: "k", value: new TextEncoder().encode("v") }] };
    case "deleteUserMetadata":
      return { userId, keys: ["k"] };
    default:
      return { userId };
  }
}

describe("authorization matrix of the v2 services (Connect)", () => {
  let s: TestServer;
  let orgs: Record<Target, string>;
  let actors: Actor[];
  let n = 0;

  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
    const d = s.rt.deps;
    const own = (await s.rt.deps.cache.get(d.instanceId, "instance", d.instanceId)).defaultOrgId;
    orgs = { own, other: await createOrg(d, "Matrix V2 Other") };
    const principal = (userName: string, opts: { orgRoles?: { orgId: string; roles: string[] }[]; iamRoles?: string[] }) =>
      createPrincipal(d, { orgId: own, userName, ...opts });
    const none = await principal("v2-no-membership", {});
    const userManager = await principal("v2-user-manager", { orgRoles: [{ orgId: own, roles: ["ORG_USER_MANAGER"] }] });
    const viewer = await principal("v2-viewer", { orgRoles: [{ orgId: own, roles: ["ORG_OWNER_VIEWER"] }] });
    const otherOwner = await principal("v2-other-owner", { orgRoles: [{ orgId: orgs.other, roles: ["ORG_OWNER"] }] });
    const iamOwner = await principal("v2-iam-owner", { iamRoles: ["IAM_OWNER"] });
    actors = [
      { name: "no membership", pat: none.pat, orgRoles: {} },
      { name: "ORG_USER_MANAGER of own org", pat: userManager.pat, orgRoles: { own: ["ORG_USER_MANAGER"] } },
      { name: "ORG_OWNER_VIEWER of own org", pat: viewer.pat, orgRoles: { own: ["ORG_OWNER_VIEWER"] } },
      { name: "ORG_OWNER of the other org", pat: otherOwner.pat, orgRoles: { other: ["ORG_OWNER"] } },
      { name: "IAM_OWNER", pat: iamOwner.pat, iamRoles: ["IAM_OWNER"], orgRoles: {} },
    ];
  });
  afterAll(async () => {
    await s?.close();
  });

  it("covers every implemented UserService method", () => {
    expect(Object.keys(userV2Handlers).sort()).toEqual([...Object.keys(USER_METHODS), ...SEARCHES].sort());
  });

  it("refuses callers without the permission in the user's org, and the refused call writes nothing", async () => {
    const d = s.rt.deps;
    const failures: string[] = [];
    for (const actor of actors) {
      for (const [method, permission] of Object.entries(USER_METHODS)) {
        for (const target of ["own", "other"] as const) {
          // x-zitadel-orgid naming the org the user is NOT in changes nothing (v2 ignores it).
          const client = userServiceV2(s.url, "connect", actor.pat, orgs[target === "own" ? "other" : "own"]);
          const victim = await createMachine(d, orgs[target], `v2-victim-${++n}`);
          const before = (await d.cache.get(d.instanceId, "user", victim)).sequence;
          const roles = [...(actor.iamRoles ?? []), ...(actor.orgRoles[target] ?? [])];
          const want = !actor.iamRoles && !actor.orgRoles[target] ? "AUTHZ-cdgFk" : rolesGrant(roles, permission) ? "allowed" : "AUTH-AWfge";
          const call = (client as unknown as Record<string, (r: unknown) => Promise<unknown>>)[method]!;
          const err = await errorOf(call(request(method, victim, orgs[target], n)));
          const got = err === undefined ? "allowed" : err.rawMessage.includes("AUTHZ-cdgFk") ? "AUTHZ-cdgFk" : err.rawMessage.includes("AUTH-AWfge") ? "AUTH-AWfge" : "allowed";
          const label = `${actor.name} ${method} on ${target}`;
          if (got !== want) failures.push(`${label}: want ${want}, got ${err ? `${Code[err.code]} ${err.rawMessage}` : "success"}`);
          if (want !== "allowed") {
            expect(err?.code, label).toBe(want === "AUTHZ-cdgFk" ? Code.NotFound : Code.PermissionDenied);
            expect((await d.cache.get(d.instanceId, "user", victim)).sequence, `${label} wrote`).toBe(before);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("searches list only what the caller may read", async () => {
    const d = s.rt.deps;
    const own = await createMachine(d, orgs.own, "v2-search-own");
    const other = await createMachine(d, orgs.other, "v2-search-other");
    const admin = userServiceV2(s.url, "connect", s.pat);
    for (const userId of [own, other]) {
      await admin.addKey({ userId, expirationDate: inAnHour() });
      await admin.addPersonalAccessToken({ userId, expirationDate: inAnHour() });
    }
    for (const actor of actors) {
      const client = userServiceV2(s.url, "connect", actor.pat);
      const readable = (t: Target) => rolesGrant([...(actor.iamRoles ?? []), ...(actor.orgRoles[t] ?? [])], "user.read");
      const want = [own, other].filter((_, i) => readable(i === 0 ? "own" : "other")).sort();
      const users = await client.listUsers({ queries: [{ query: { case: "inUserIdsQuery", value: { userIds: [own, other] } } }] });
      expect(users.result.map((u) => u.userId).sort(), `${actor.name} ListUsers`).toEqual(want);
      const idFilter = (id: string) => ({ filter: { case: "userIdFilter" as const, value: { id } } });
      const keyOwners = new Set<string>();
      const patOwners = new Set<string>();
      for (const id of [own, other]) {
        for (const k of (await client.listKeys({ filters: [idFilter(id)] })).result) keyOwners.add(k.userId);
        for (const p of (await client.listPersonalAccessTokens({ filters: [idFilter(id)] })).result) patOwners.add(p.userId);
      }
      expect([...keyOwners].sort(), `${actor.name} ListKeys`).toEqual(want);
      expect([...patOwners].sort(), `${actor.name} ListPersonalAccessTokens`).toEqual(want);
    }
  });

  it("OrganizationService: AddOrganization needs org.create; ListOrganizations lists the orgs the caller may read", async () => {
    for (const actor of actors) {
      const client = organizationServiceV2(s.url, "connect", actor.pat);
      const roles = [...(actor.iamRoles ?? []), ...(actor.orgRoles.own ?? [])];
      const err = await errorOf(client.addOrganization({ name: `V2 Matrix ${actor.name}` }));
      if (rolesGrant(roles, "org.create")) expect(err, actor.name).toBeUndefined();
      else expect(err?.code, actor.name).toBe(!actor.iamRoles && !actor.orgRoles.own ? Code.NotFound : Code.PermissionDenied);

      const listed = await client.listOrganizations({ queries: [] });
      const ids = listed.result.map((o) => o.id);
      for (const t of ["own", "other"] as const) {
        const may = rolesGrant([...(actor.iamRoles ?? []), ...(actor.orgRoles[t] ?? [])], "org.read");
        expect(ids.includes(orgs[t]), `${actor.name} sees ${t}`).toBe(may);
      }
    }
  });

  it("acting on oneself needs no membership (ZITADEL's checkPermissionOnUser)", async () => {
    const d = s.rt.deps;
    const self = await createPrincipal(d, { orgId: orgs.own, userName: "v2-self", orgRoles: [] });
    const client = userServiceV2(s.url, "connect", self.pat);
    expect((await client.getUserByID({ userId: self.userId })).user?.username).toBe("v2-self");
    expect((await client.addSecret({ userId: self.userId })).clientSecret).toMatch(/^pcs_[A-Za-z0-9]{64}$/);
    const neighbour = await createMachine(d, orgs.own, "v2-self-neighbour");
    expect((await errorOf(client.getUserByID({ userId: neighbour })))?.code).toBe(Code.NotFound);
  });

  it("a caller without a token is refused before anything else", async () => {
    const e = await errorOf(userServiceV2(s.url, "connect", "").getUserByID({ userId: "x" }));
    expect(e).toBeInstanceOf(ConnectError);
    expect(e?.code).toBe(Code.Unauthenticated);
  });
});
