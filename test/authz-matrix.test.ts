import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getOption, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { auth_option } from "@zitadel/proto/zitadel/options_pb.js";
import { AdminService } from "@zitadel/proto/zitadel/admin_pb.js";
import { ManagementService } from "@zitadel/proto/zitadel/management_pb.js";
import { adminHandlers } from "../src/api/services/admin.js";
import { managementHandlers } from "../src/api/services/management.js";
import type { ServiceHandlers } from "../src/api/pipeline.js";
import { compileRoutes, type RestRoute } from "../src/api/rest/routes.js";
import { addOrgMember } from "../src/app/orgs/org-members.js";
import { reactivateOrg, removeOrg } from "../src/app/orgs/orgs.js";
import { rolesGrant } from "../src/domain/orgs/roles.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { rest } from "./helpers/clients.js";
import { zitadelError } from "./helpers/fixtures.js";
import { createOrg, createPrincipal, systemCaller } from "./helpers/principals.js";

/**
 * The authorization matrix: every implemented method of the management and admin services (taken
 * from the handler tables, not from a list kept here) × callers × target orgs, against the outcome
 * computed from the method's proto permission and ZITADEL's role table — over REST, so the HTTP
 * status is checked too.
 */

type TargetKind = "own" | "other" | "removed";
interface Actor {
  name: string;
  token?: string;
  iamRoles?: string[];
  /** Org roles in the actor's own org and in the other org. */
  orgRoles: Partial<Record<"own" | "other", string[]>>;
}
interface Call {
  service: DescService;
  method: DescMethod;
  permission: string;
  route: RestRoute;
}
interface Outcome {
  status: number;
  body: unknown;
}

const AUTH_HEADER_MISSING: Outcome = { status: 401, body: { code: 16, message: "auth header missing" } };
const TOKEN_INVALID: Outcome = { status: 401, body: zitadelError(16, "AUTH-7fs1e", "Errors.Token.Invalid") };
const ORG_GONE: Outcome = { status: 403, body: zitadelError(7, "AUTH-Bs7Ds", "Organisation doesn't exist") };
const NO_MEMBERSHIP: Outcome = { status: 404, body: zitadelError(5, "AUTHZ-cdgFk", "membership not found") };
const NO_PERMISSION: Outcome = { status: 403, body: zitadelError(7, "AUTH-5mWD2", "No matching permissions found") };
const AUTHZ_IDS = new Set(["AUTH-7fs1e", "AUTH-toLo1", "AUTHZ-cdgFk", "AUTH-5mWD2", "AUTH-Bs7Ds"]);

const implemented = (service: DescService, handlers: ServiceHandlers, prefix: string): Call[] => {
  const router = compileRoutes(service, prefix);
  return service.methods
    .filter((m) => handlers[m.localName])
    .map((method) => {
      const route = router.routes.find((r) => r.method === method);
      if (!route) throw new Error(`${method.name} has no REST binding`);
      return { service, method, permission: getOption(method, auth_option).permission, route };
    });
};

const CALLS: Call[] = [...implemented(ManagementService, managementHandlers, "/management/v1"), ...implemented(AdminService, adminHandlers, "/admin/v1")];

/** ZITADEL's order (§1.3-1.5 of the auth notes): token, then target org, then memberships, then the permission. */
function expected(actor: Actor, permission: string, target: TargetKind): Outcome | "allowed" {
  if (!permission) return "allowed";
  if (actor.name === "no token") return AUTH_HEADER_MISSING;
  if (actor.name === "bad token") return TOKEN_INVALID;
  if (target === "removed") return ORG_GONE;
  if (permission === "authenticated") return "allowed";
  const orgRoles = actor.orgRoles[target];
  if (!actor.iamRoles && !orgRoles) return NO_MEMBERSHIP;
  return rolesGrant([...(actor.iamRoles ?? []), ...(orgRoles ?? [])], permission) ? "allowed" : NO_PERMISSION;
}

/** The REST path with every path variable filled by `value(name)`. */
const pathOf = (route: RestRoute, value: (name: string) => string) =>
  route.template.replace(/\{([^}=]+)(=[^}]*)?\}/g, (_, name: string) => encodeURIComponent(value(name)));

/** Methods that change the target org itself; "other" gets a fresh org per call, "own" is restored after. */
const ORG_LIFECYCLE = new Set(["DeactivateOrg", "RemoveOrg", "ReactivateOrg", "UpdateOrg"]);

describe("authorization matrix (REST)", () => {
  let s: TestServer;
  let ownOrg: string;
  let otherOrg: string;
  let removedOrg: string;
  let otherOwnerId: string;
  let actors: Actor[];

  beforeAll(async () => {
    // Three failed authentications per method and target: with every implemented method that is more
    // than the per-address failure limit allows in a minute (the limit has its own tests).
    s = await startTestServer({ storage: "pglite", env: { PORTCULLIS_RATE_LIMIT_ENABLED: "false" } });
    const d = s.rt.deps;
    ownOrg = (await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat })).json.org.id;
    otherOrg = await createOrg(d, "Matrix Other");
    removedOrg = await createOrg(d, "Matrix Removed");
    await removeOrg(d, systemCaller(removedOrg));
    const principal = (userName: string, opts: { orgRoles?: { orgId: string; roles: string[] }[]; iamRoles?: string[] }) =>
      createPrincipal(d, { orgId: ownOrg, userName, ...opts });
    const none = await principal("matrix-no-membership", {});
    const userManager = await principal("matrix-user-manager", { orgRoles: [{ orgId: ownOrg, roles: ["ORG_USER_MANAGER"] }] });
    const otherOwner = await principal("matrix-other-owner", { orgRoles: [{ orgId: otherOrg, roles: ["ORG_OWNER"] }] });
    const iamOwner = await principal("matrix-iam-owner", { iamRoles: ["IAM_OWNER"] });
    otherOwnerId = otherOwner.userId;
    actors = [
      { name: "no token", orgRoles: {} },
      { name: "bad token", token: "bm90LWEtdG9rZW4tYXQtYWxsLWp1c3QtYnl0ZXM", orgRoles: {} },
      { name: "no membership", token: none.pat, orgRoles: {} },
      { name: "ORG_USER_MANAGER of own org", token: userManager.pat, orgRoles: { own: ["ORG_USER_MANAGER"] } },
      { name: "ORG_OWNER of the other org", token: otherOwner.pat, orgRoles: { other: ["ORG_OWNER"] } },
      { name: "IAM_OWNER", token: iamOwner.pat, iamRoles: ["IAM_OWNER"], orgRoles: {} },
    ];
  });
  afterAll(async () => {
    await s?.close();
  });

  it("covers every method with a handler, including the org and member methods", () => {
    const names = CALLS.map((c) => `${c.service.name}.${c.method.name}`);
    for (const m of ["GetMyOrg", "AddOrg", "UpdateOrg", "DeactivateOrg", "ReactivateOrg", "RemoveOrg", "ListOrgChanges", "ListOrgMemberRoles", "ListOrgMembers", "AddOrgMember", "UpdateOrgMember", "RemoveOrgMember"])
      expect(names).toContain(`ManagementService.${m}`);
    for (const m of ["Healthz", "ListOrgs", "GetOrgByID", "IsOrgUnique", "ListIAMMemberRoles", "ListIAMMembers", "AddIAMMember", "UpdateIAMMember", "RemoveIAMMember"])
      expect(names).toContain(`AdminService.${m}`);
    // Every other method of the services answers Unimplemented, so nothing else needs a row.
    expect(CALLS.length).toBeGreaterThan(30);
  });

  it.each(CALLS.map((c) => [`${c.service.name}.${c.method.name} (${c.permission || "public"})`, c] as const))("%s", async (_, call) => {
    const d = s.rt.deps;
    const mismatches: string[] = [];
    for (const actor of actors) {
      for (const target of ["own", "other", "removed"] as const) {
        let orgHeader = target === "own" ? undefined : target === "other" ? otherOrg : removedOrg;
        const lifecycle = ORG_LIFECYCLE.has(call.method.name);
        if (lifecycle && target === "other") {
          // A fresh org with the other org's memberships, so that a permitted removal or rename harms nothing else.
          orgHeader = await createOrg(d, `Matrix Disposable ${d.newId()}`);
          await addOrgMember(d, systemCaller(orgHeader), otherOwnerId, ["ORG_OWNER"]);
        }
        const r = await rest(s.url, call.route.verb, pathOf(call.route, () => "matrix-x"), {
          token: actor.token,
          orgId: orgHeader,
          body: call.route.body === "*" ? {} : undefined,
        });
        if (lifecycle && target === "own" && call.method.name === "DeactivateOrg" && r.status === 200) await reactivateOrg(d, systemCaller(ownOrg));
        const want = expected(actor, call.permission, target);
        const cell = `${actor.name} → ${target}`;
        if (want === "allowed") {
          const id = r.json?.details?.[0]?.id as string | undefined;
          if (r.status === 401 || r.status === 501 || (id && AUTHZ_IDS.has(id))) mismatches.push(`${cell}: expected allowed, got ${r.status} ${r.text}`);
        } else if (r.status !== want.status || JSON.stringify(r.json) !== JSON.stringify(want.body)) {
          mismatches.push(`${cell}: expected ${want.status} ${JSON.stringify(want.body)}, got ${r.status} ${r.text}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("leaves the world as it was: both orgs active, every principal still in", async () => {
    for (const orgId of [ownOrg, otherOrg]) {
      const r = await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat, orgId });
      expect(r.json.org.state).toBe("ORG_STATE_ACTIVE");
    }
    for (const a of actors.filter((x) => x.token && x.name !== "bad token")) {
      expect((await rest(s.url, "GET", "/management/v1/iam", { token: a.token })).status).toBe(200);
    }
  });
});

describe("no cross-org reads or writes", () => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** A machine with every kind of object (secret, key, PAT, metadata, membership) in `orgId`. */
  async function victim(orgId: string, tag: string) {
    const api = (method: string, path: string, body?: unknown) => rest(s.url, method, `/management/v1${path}`, { token: s.pat, orgId, body });
    const add = await api("POST", "/users/machine", { userName: `victim-${tag}`, name: `Victim ${tag}` });
    const userId = add.json.userId as string;
    expect((await api("PUT", `/users/${userId}/secret`, {})).status).toBe(200);
    const key = await api("POST", `/users/${userId}/keys`, { type: "KEY_TYPE_JSON" });
    expect(key.status).toBe(200);
    const pat = await api("POST", `/users/${userId}/pats`, {});
    expect(pat.status).toBe(200);
    const metaKey = `victim-meta-${tag}`;
    expect((await api("POST", `/users/${userId}/metadata/${metaKey}`, { value: Buffer.from("secret value").toString("base64") })).status).toBe(200);
    expect((await api("POST", "/orgs/me/members", { userId, roles: ["ORG_OWNER_VIEWER"] })).status).toBe(200);
    return { orgId, userId, keyId: key.json.keyId as string, tokenId: pat.json.tokenId as string, metaKey, userName: `victim-${tag}` };
  }

  const eventCount = async (aggregateType: string, id: string) =>
    (await s.rt.deps.store.sql.query("SELECT 1 FROM events WHERE instance_id = $1 AND aggregate_type = $2 AND aggregate_id = $3", [s.rt.deps.instanceId, aggregateType, id])).length;

  it("an object of another org behaves as not found, for every implemented method", async () => {
    const d = s.rt.deps;
    const ownOrg = (await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat })).json.org.id as string;
    const otherOrg = await createOrg(d, "Cross Org Other");
    const iamOwner = await createPrincipal(d, { orgId: ownOrg, userName: "cross-iam-owner", iamRoles: ["IAM_OWNER"] });
    const otherOwner = await createPrincipal(d, { orgId: otherOrg, userName: "cross-other-owner", orgRoles: [{ orgId: otherOrg, roles: ["ORG_OWNER"] }] });
    const victims = { own: await victim(ownOrg, "own"), other: await victim(otherOrg, "other") };
    // Each actor works in its org and aims at the victim of the other: the IAM owner (who may do
    // everything) from the own org at the other org's objects, the other org's owner the other way.
    const attacks = [
      { actor: iamOwner, actingOrg: ownOrg, v: victims.other },
      { actor: otherOwner, actingOrg: otherOrg, v: victims.own },
    ];
    const managementCalls = CALLS.filter((c) => c.service === ManagementService && c.route.variables.length > 0);
    expect(managementCalls.length).toBeGreaterThan(20);

    const before = new Map<string, number>();
    for (const { v } of attacks) {
      before.set(v.userId, await eventCount("user", v.userId));
      before.set(v.orgId, await eventCount("org", v.orgId));
    }
    const leaks: string[] = [];
    for (const { actor, actingOrg, v } of attacks) {
      const secrets = [v.userId, v.keyId, v.tokenId, v.metaKey, v.userName];
      const body = {
        name: "Renamed",
        userName: "renamed-victim",
        description: "changed",
        type: "KEY_TYPE_JSON",
        value: Buffer.from("overwritten").toString("base64"),
        metadata: [{ key: v.metaKey, value: Buffer.from("overwritten").toString("base64") }],
        keys: [v.metaKey],
        roles: ["ORG_OWNER"],
        queries: [{ userIdQuery: { userId: v.userId } }],
      };
      const value = (name: string) =>
        ({ id: v.userId, user_id: v.userId, key_id: v.keyId, token_id: v.tokenId, key: v.metaKey })[name] ?? v.userId;
      for (const call of managementCalls) {
        const r = await rest(s.url, call.route.verb, pathOf(call.route, value), { token: actor.pat, body: call.route.body === "*" ? body : undefined });
        if (r.status === 200 && secrets.some((x) => r.text.includes(x))) leaks.push(`${call.method.name} by ${actor.userName} read ${r.text}`);
        if (r.status === 401 || r.status === 403) leaks.push(`${call.method.name} by ${actor.userName}: unexpected ${r.status} ${r.text}`);
      }
      // Searches that name the victim find nothing in the acting org.
      const users = await rest(s.url, "POST", "/management/v1/users/_search", { token: actor.pat, body: { queries: [{ inUserIdsQuery: { userIds: [v.userId] } }] } });
      const members = await rest(s.url, "POST", "/management/v1/orgs/me/members/_search", { token: actor.pat, body: { queries: [{ userIdQuery: { userId: v.userId } }] } });
      for (const r of [users, members]) {
        expect(r.status).toBe(200);
        expect(r.json.result).toBeUndefined();
      }
      expect(actingOrg).not.toBe(v.orgId);
    }
    expect(leaks).toEqual([]);
    // Nothing was written to the victims' users or orgs.
    for (const { v } of attacks) {
      expect(await eventCount("user", v.userId)).toBe(before.get(v.userId));
      expect(await eventCount("org", v.orgId)).toBe(before.get(v.orgId));
      const seen = await rest(s.url, "GET", `/management/v1/users/${v.userId}`, { token: s.pat, orgId: v.orgId });
      expect(seen.json.user).toMatchObject({ userName: v.userName, state: "USER_STATE_ACTIVE", machine: { hasSecret: true } });
      const member = await rest(s.url, "POST", "/management/v1/orgs/me/members/_search", { token: s.pat, orgId: v.orgId, body: { queries: [{ userIdQuery: { userId: v.userId } }] } });
      expect(member.json.result).toEqual([expect.objectContaining({ userId: v.userId, roles: ["ORG_OWNER_VIEWER"] })]);
    }
  });
});
