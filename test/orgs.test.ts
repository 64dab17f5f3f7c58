import { createPrivateKey } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";
import { rest, tokenRequest } from "./helpers/clients.js";
import { ISO, zitadelError } from "./helpers/fixtures.js";
import { createOrg, createPrincipal, type Principal } from "./helpers/principals.js";

const API_SCOPE = "openid urn:zitadel:iam:org:project:id:zitadel:aud";
const TOKEN_INVALID = zitadelError(16, "AUTH-7fs1e", "Errors.Token.Invalid");
const ORG_GONE = zitadelError(7, "AUTH-Bs7Ds", "Organisation doesn't exist");

describe.each<Storage>(["pglite", "postgres"])("organizations (%s)", (storage) => {
  let s: TestServer;
  let defaultOrgId: string;
  let instanceId: string;
  let host: string;
  let defaultName: string;
  const mgmt = (method: string, path: string, opts: { token?: string; orgId?: string; body?: unknown } = {}) =>
    rest(s.url, method, `/management/v1${path}`, { token: s.pat, ...opts });
  const admin = (method: string, path: string, opts: { token?: string; orgId?: string; body?: unknown } = {}) =>
    rest(s.url, method, `/admin/v1${path}`, { token: s.pat, ...opts });

  beforeAll(async () => {
    s = await startTestServer({ storage });
    instanceId = s.rt.deps.instanceId;
    host = new URL(s.url).hostname;
    defaultName = s.rt.deps.config.firstInstance.orgName;
    defaultOrgId = (await mgmt("GET", "/orgs/me")).json.org.id;
  });
  afterAll(async () => {
    await s?.close();
  });

  /** A machine with a secret in `orgId`, as the API creates it; returns its client credentials. */
  async function machineWithSecret(orgId: string, userName: string, accessTokenType = "ACCESS_TOKEN_TYPE_BEARER") {
    const add = await mgmt("POST", "/users/machine", { orgId, body: { userName, name: userName, accessTokenType } });
    expect(add.status).toBe(200);
    const gen = await mgmt("PUT", `/users/${add.json.userId}/secret`, { orgId });
    expect(gen.status).toBe(200);
    return { userId: add.json.userId as string, id: gen.json.clientId as string, secret: gen.json.clientSecret as string };
  }

  /** A machine key for `userId` and a function that makes fresh jwt-bearer grant requests with it. */
  async function keyGrant(orgId: string, userId: string) {
    const key = await mgmt("POST", `/users/${userId}/keys`, { orgId, body: { type: "KEY_TYPE_JSON" } });
    expect(key.status).toBe(200);
    const file = JSON.parse(Buffer.from(key.json.keyDetails, "base64").toString()) as { keyId: string; key: string; userId: string };
    return async () => {
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: "RS256", kid: file.keyId })
        .setIssuer(file.userId)
        .setSubject(file.userId)
        .setAudience(s.url)
        .setIssuedAt()
        .setExpirationTime("5m")
        .setJti(crypto.randomUUID())
        .sign(createPrivateKey(file.key));
      const r = await fetch(`${s.url}/oauth/v2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion, scope: API_SCOPE }),
      });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    };
  }

  describe("GetMyOrg", () => {
    it("answers the caller's org, or the org named by x-zitadel-orgid", async () => {
      const me = await mgmt("GET", "/orgs/me");
      expect(me.status).toBe(200);
      expect(me.json.org).toEqual({
        id: defaultOrgId,
        details: { sequence: expect.stringMatching(/^\d+$/), creationDate: expect.stringMatching(ISO), changeDate: expect.stringMatching(ISO), resourceOwner: defaultOrgId },
        state: "ORG_STATE_ACTIVE",
        name: defaultName,
        primaryDomain: `${defaultName.toLowerCase()}.${host}`,
      });
      const other = await createOrg(s.rt.deps, "Get My Org Other");
      const viaHeader = await mgmt("GET", "/orgs/me", { orgId: other });
      expect(viaHeader.json.org).toMatchObject({ id: other, name: "Get My Org Other", primaryDomain: `get-my-org-other.${host}`, state: "ORG_STATE_ACTIVE" });
      // The projection's sequence is that of the last org event it applied, not of member events.
      expect(viaHeader.json.org.details.sequence).toBe("4");
    });

    it("refuses an x-zitadel-orgid that names no org", async () => {
      const r = await mgmt("GET", "/orgs/me", { orgId: "4711" });
      expect(r.status).toBe(403);
      expect(r.json).toEqual(ORG_GONE);
    });
  });

  describe("AddOrg", () => {
    it("creates the org with its domain and makes the caller its ORG_OWNER", async () => {
      const r = await mgmt("POST", "/orgs", { body: { name: "  Acme Corp  " } });
      expect(r.status).toBe(200);
      const id = r.json.id as string;
      expect(id).toMatch(/^\d{18,19}$/);
      // org.added, domain added/verified/primary set, member added: the 5th event on the new org.
      expect(r.json.details).toEqual({ sequence: "5", creationDate: expect.stringMatching(ISO), resourceOwner: id });

      const org = await mgmt("GET", "/orgs/me", { orgId: id });
      expect(org.json.org).toMatchObject({ id, name: "Acme Corp", state: "ORG_STATE_ACTIVE", primaryDomain: `acme-corp.${host}` });

      const events = await s.rt.deps.store.load(instanceId, "org", id);
      expect(events.map((e) => [e.type, e.payload])).toEqual([
        ["org.added", { name: "Acme Corp" }],
        ["org.domain.added", { domain: `acme-corp.${host}` }],
        ["org.domain.verified", { domain: `acme-corp.${host}` }],
        ["org.domain.primary.set", { domain: `acme-corp.${host}` }],
        ["org.member.added", { userId: events[4]!.payload.userId, roles: ["ORG_OWNER"] }],
      ]);
      expect(events.every((e) => e.resourceOwner === id)).toBe(true);
    });

    it("lets a caller with only SELF_MANAGEMENT_GLOBAL create an org it then owns", async () => {
      const self = await createPrincipal(s.rt.deps, { orgId: defaultOrgId, userName: "self-manager", orgRoles: [{ orgId: defaultOrgId, roles: ["SELF_MANAGEMENT_GLOBAL"] }] });
      // SELF_MANAGEMENT_GLOBAL grants org.create but not org.read.
      expect((await mgmt("GET", "/orgs/me", { token: self.pat })).json).toEqual(zitadelError(7, "AUTH-5mWD2", "No matching permissions found"));
      const r = await mgmt("POST", "/orgs", { token: self.pat, body: { name: "Self Made" } });
      expect(r.status).toBe(200);
      const members = await mgmt("POST", "/orgs/me/members/_search", { token: self.pat, orgId: r.json.id, body: {} });
      expect(members.status).toBe(200);
      expect(members.json.result).toEqual([expect.objectContaining({ userId: self.userId, roles: ["ORG_OWNER"] })]);
      const renamed = await mgmt("PUT", "/orgs/me", { token: self.pat, orgId: r.json.id, body: { name: "Self Made Renamed" } });
      expect(renamed.status).toBe(200);
    });

    it("is refused to an ORG_OWNER (no org.create)", async () => {
      const owner = await createPrincipal(s.rt.deps, { orgId: defaultOrgId, userName: "plain-owner", orgRoles: [{ orgId: defaultOrgId, roles: ["ORG_OWNER"] }] });
      const r = await mgmt("POST", "/orgs", { token: owner.pat, body: { name: "Not Allowed" } });
      expect(r.status).toBe(403);
      expect(r.json).toEqual(zitadelError(7, "AUTH-5mWD2", "No matching permissions found"));
    });

    it("validates the name and keeps names and domains unique", async () => {
      expect((await mgmt("POST", "/orgs", { body: { name: "" } })).json).toEqual({
        code: 3,
        message: "invalid AddOrgRequest.Name: value length must be between 1 and 200 runes, inclusive",
      });
      const blank = await mgmt("POST", "/orgs", { body: { name: "   " } });
      expect(blank.status).toBe(400);
      expect(blank.json).toEqual(zitadelError(3, "EVENT-Mf9sd", "Organisation is invalid"));
      const symbols = await mgmt("POST", "/orgs", { body: { name: "!!!" } });
      expect(symbols.status).toBe(400);
      expect(symbols.json.details[0].id).toBe("ORG-RrfXY");

      expect((await mgmt("POST", "/orgs", { body: { name: "Unique Org" } })).status).toBe(200);
      const dup = await mgmt("POST", "/orgs", { body: { name: "unique org" } });
      expect(dup.status).toBe(409);
      expect(dup.json).toEqual(zitadelError(6, "V3-DKcYh", "Organisation's name or id already taken"));
      // Another name, same derived domain.
      const sameDomain = await mgmt("POST", "/orgs", { body: { name: "Unique-Org" } });
      expect(sameDomain.status).toBe(409);
      expect(sameDomain.json).toEqual(zitadelError(6, "V3-DKcYh", "Domain already exists"));
      // The first org's domain was never claimed; it is checked all the same.
      const zitadel = await mgmt("POST", "/orgs", { body: { name: `${defaultName}!` } });
      expect(zitadel.json).toEqual(zitadelError(6, "V3-DKcYh", "Domain already exists"));
    });
  });

  describe("UpdateOrg", () => {
    it("renames the org, moves its domain and frees the old name", async () => {
      const id = await createOrg(s.rt.deps, "Before Rename");
      const r = await mgmt("PUT", "/orgs/me", { orgId: id, body: { name: "After Rename" } });
      expect(r.status).toBe(200);
      // ZITADEL fills creationDate here (AddToDetailsPb). Events 6..10: changed, domain added/verified/primary/removed.
      expect(r.json.details).toEqual({ sequence: "10", creationDate: expect.stringMatching(ISO), resourceOwner: id });
      const org = await mgmt("GET", "/orgs/me", { orgId: id });
      expect(org.json.org).toMatchObject({ name: "After Rename", primaryDomain: `after-rename.${host}` });

      const same = await mgmt("PUT", "/orgs/me", { orgId: id, body: { name: "After Rename" } });
      expect(same.status).toBe(400);
      expect(same.json).toEqual(zitadelError(9, "ORG-4VSdf", "Organisation not changed"));
      const taken = await mgmt("PUT", "/orgs/me", { orgId: id, body: { name: defaultName.toLowerCase() } });
      expect(taken.status).toBe(409);
      expect(taken.json).toEqual(zitadelError(6, "V3-DKcYh", "Organisation's name or id already taken"));
      const blank = await mgmt("PUT", "/orgs/me", { orgId: id, body: { name: " " } });
      expect(blank.json).toEqual(zitadelError(3, "EVENT-Mf9sd", "Organisation is invalid"));

      // The old name and domain are free again.
      expect((await mgmt("POST", "/orgs", { body: { name: "Before Rename" } })).status).toBe(200);
      // Only the case changes: the domain stays, no domain events.
      const cased = await mgmt("PUT", "/orgs/me", { orgId: id, body: { name: "AFTER RENAME" } });
      expect(cased.status).toBe(200);
      expect(cased.json.details.sequence).toBe("11");
    });
  });

  describe("ListOrgChanges", () => {
    it("lists the org's events, newest first unless asc, after a sequence, limited", async () => {
      const id = await createOrg(s.rt.deps, "Changes Org");
      await mgmt("POST", "/orgs/me/_deactivate", { orgId: id, body: {} });
      const all = await mgmt("POST", "/orgs/me/changes/_search", { orgId: id, body: {} });
      expect(all.status).toBe(200);
      expect(all.json.details).toBeUndefined();
      expect(all.json.result.map((c: { eventType: { key: string } }) => c.eventType.key)).toEqual([
        "EventTypes.org.deactivated",
        "EventTypes.org.member.added",
        "EventTypes.org.domain.primary.set",
        "EventTypes.org.domain.verified",
        "EventTypes.org.domain.added",
        "EventTypes.org.added",
      ]);
      expect(all.json.result[0]).toMatchObject({ sequence: "6", resourceOwnerId: id, eventType: { localizedMessage: "Organization deactivated" } });
      const asc = await mgmt("POST", "/orgs/me/changes/_search", { orgId: id, body: { query: { sequence: "4", asc: true, limit: 1 } } });
      expect(asc.json.result.map((c: { sequence: string }) => c.sequence)).toEqual(["5"]);
      // Another org's changes are not this org's.
      const mine = await mgmt("POST", "/orgs/me/changes/_search", { body: { query: { asc: true, limit: 1 } } });
      expect(mine.json.result[0].resourceOwnerId).toBe(defaultOrgId);
    });
  });

  describe("DeactivateOrg and ReactivateOrg", () => {
    let orgId: string;
    let svc: { userId: string; id: string; secret: string };
    let principal: Principal;

    beforeAll(async () => {
      orgId = await createOrg(s.rt.deps, "Sleepy Org");
      svc = await machineWithSecret(orgId, "sleepy-svc");
      principal = await createPrincipal(s.rt.deps, { orgId, userName: "sleepy-admin", orgRoles: [{ orgId, roles: ["ORG_USER_MANAGER"] }] });
    });

    it("stops the org's users at once, and lets them back in on reactivation", async () => {
      const tok = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: svc.id, secret: svc.secret });
      expect(tok.status).toBe(200);
      const accessToken = tok.json.access_token as string;
      // GetIAM needs a valid token only: the machine has no membership.
      expect((await mgmt("GET", "/iam", { token: accessToken })).status).toBe(200);
      expect((await mgmt("GET", "/orgs/me", { token: principal.pat })).status).toBe(200);

      const d = await mgmt("POST", "/orgs/me/_deactivate", { orgId, body: {} });
      expect(d.status).toBe(200);
      expect(d.json.details).toEqual({ sequence: expect.stringMatching(/^\d+$/), changeDate: expect.stringMatching(ISO), resourceOwner: orgId });

      // Bearer tokens of the org's users: PAT and access token alike.
      const pat = await mgmt("GET", "/orgs/me", { token: principal.pat });
      expect(pat.status).toBe(401);
      expect(pat.json).toEqual(TOKEN_INVALID);
      expect((await mgmt("GET", "/iam", { token: accessToken })).json).toEqual(TOKEN_INVALID);
      // The token endpoint.
      const denied = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: svc.id, secret: svc.secret });
      expect(denied.status).toBe(400);
      expect(denied.json).toEqual({ error: "invalid_request", error_description: "Errors.User.NotActive" });

      // The org itself still exists: an IAM owner reaches it, and sees its state.
      const seen = await mgmt("GET", "/orgs/me", { orgId });
      expect(seen.json.org.state).toBe("ORG_STATE_INACTIVE");
      const again = await mgmt("POST", "/orgs/me/_deactivate", { orgId, body: {} });
      expect(again.status).toBe(400);
      expect(again.json).toEqual(zitadelError(9, "EVENT-Dbs2g", "Organisation is already deactivated"));

      const re = await mgmt("POST", "/orgs/me/_reactivate", { orgId, body: {} });
      expect(re.status).toBe(200);
      expect(re.json.details).toEqual({ sequence: expect.stringMatching(/^\d+$/), changeDate: expect.stringMatching(ISO), resourceOwner: orgId });
      expect((await mgmt("GET", "/orgs/me", { token: principal.pat })).status).toBe(200);
      expect((await mgmt("GET", "/iam", { token: accessToken })).status).toBe(200);
      expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: svc.id, secret: svc.secret })).status).toBe(200);
      const reAgain = await mgmt("POST", "/orgs/me/_reactivate", { orgId, body: {} });
      expect(reAgain.json).toEqual(zitadelError(9, "EVENT-bfnrh", "Organisation is already active"));
    });

    it("also refuses machine keys (jwt-bearer) and JWT access tokens while the org is inactive", async () => {
      const grant = await keyGrant(orgId, svc.userId);
      expect((await grant()).status).toBe(200);
      const jwtUser = await machineWithSecret(orgId, "sleepy-jwt", "ACCESS_TOKEN_TYPE_JWT");
      const jwt = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: jwtUser.id, secret: jwtUser.secret });
      const jwtToken = jwt.json.access_token as string;
      expect(jwtToken.split(".")).toHaveLength(3);
      expect((await mgmt("GET", "/iam", { token: jwtToken })).status).toBe(200);

      await mgmt("POST", "/orgs/me/_deactivate", { orgId, body: {} });
      const denied = await grant();
      expect(denied.status).toBe(400);
      expect(denied.json.access_token).toBeUndefined();
      expect((await mgmt("GET", "/iam", { token: jwtToken })).json).toEqual(TOKEN_INVALID);

      await mgmt("POST", "/orgs/me/_reactivate", { orgId, body: {} });
      expect((await grant()).status).toBe(200);
      expect((await mgmt("GET", "/iam", { token: jwtToken })).status).toBe(200);
    });
  });

  describe("RemoveOrg", () => {
    it("refuses to remove the instance's default org", async () => {
      const r = await mgmt("DELETE", "/orgs/me");
      expect(r.status).toBe(400);
      expect(r.json).toEqual(zitadelError(9, "COMMA-wG9p1", "Default Organisation must not be deleted"));
    });

    it("ends the org, its users and their credentials at once, and releases its names", async () => {
      const orgId = await createOrg(s.rt.deps, "Doomed Org");
      const svc = await machineWithSecret(orgId, "doomed-svc");
      const principal = await createPrincipal(s.rt.deps, { orgId, userName: "doomed-admin", orgRoles: [{ orgId, roles: ["ORG_OWNER"] }] });
      const tok = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: svc.id, secret: svc.secret });
      const accessToken = tok.json.access_token as string;
      expect((await mgmt("GET", "/iam", { token: accessToken })).status).toBe(200);
      const grant = await keyGrant(orgId, svc.userId);
      expect((await grant()).status).toBe(200);

      // The org's own ORG_OWNER removes it (org.delete).
      const r = await mgmt("DELETE", "/orgs/me", { token: principal.pat });
      expect(r.status).toBe(200);
      // ZITADEL reports the instance as the resource owner of this write.
      expect(r.json.details).toEqual({ sequence: expect.stringMatching(/^\d+$/), changeDate: expect.stringMatching(ISO), resourceOwner: instanceId });

      for (const token of [principal.pat, accessToken]) {
        const denied = await mgmt("GET", "/iam", { token });
        expect(denied.status).toBe(401);
        expect(denied.json).toEqual(TOKEN_INVALID);
      }
      const noToken = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: svc.id, secret: svc.secret });
      expect(noToken.status).toBeGreaterThanOrEqual(400);
      expect(noToken.json.access_token).toBeUndefined();
      const noKeyToken = await grant();
      expect(noKeyToken.status).toBe(400);
      expect(noKeyToken.json.access_token).toBeUndefined();

      // Naming the removed org is naming no org.
      const named = await mgmt("GET", "/orgs/me", { orgId });
      expect(named.status).toBe(403);
      expect(named.json).toEqual(ORG_GONE);
      expect((await mgmt("DELETE", "/orgs/me", { orgId })).json).toEqual(ORG_GONE);
      const byId = await admin("GET", `/orgs/${orgId}`);
      expect(byId.status).toBe(404);
      expect(byId.json).toEqual(zitadelError(5, "QUERY-leq5Q", "Organisation not found"));
      const listed = await admin("POST", "/orgs/_search", { body: { queries: [{ idQuery: { id: orgId } }] } });
      expect(listed.json.result).toBeUndefined();

      // Its users are gone: not a member candidate, their usernames free again.
      const add = await mgmt("POST", "/orgs/me/members", { body: { userId: principal.userId, roles: ["ORG_OWNER"] } });
      expect(add.status).toBe(400);
      expect(add.json).toEqual(zitadelError(9, "ORG-GoXOn", "User could not be found"));
      expect((await admin("GET", "/orgs/_is_unique?name=Doomed%20Org")).json).toEqual({ isUnique: true });
      const reborn = await mgmt("POST", "/orgs", { body: { name: "Doomed Org" } });
      expect(reborn.status).toBe(200);
      const again = await machineWithSecret(reborn.json.id, "doomed-svc");
      const fresh = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: again.id, secret: again.secret });
      expect(fresh.status).toBe(200);
      // The old secret still opens nothing.
      const old = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: svc.id, secret: svc.secret });
      expect(old.json.access_token).toBeUndefined();
    });

    it("projections rebuilt from the events give the same tables", async () => {
      const { rebuildProjections } = await import("../src/store/rebuild.js");
      const dump = async () => {
        const out: Record<string, unknown[]> = {};
        for (const t of ["proj_orgs", "proj_users", "proj_members", "proj_pats"]) {
          const rows = await s.rt.deps.store.sql.query(`SELECT * FROM ${t}`);
          out[t] = rows.map((r) => JSON.stringify(r)).sort();
        }
        return JSON.stringify(out);
      };
      const before = await dump();
      await rebuildProjections(s.rt.deps.store.sql);
      expect(await dump()).toBe(before);
    });
  });

  describe("admin org reads", () => {
    it("GetOrgByID, ListOrgs and IsOrgUnique", async () => {
      const id = await createOrg(s.rt.deps, "Admin Visible");
      const got = await admin("GET", `/orgs/${id}`);
      expect(got.status).toBe(200);
      expect(got.json.org).toMatchObject({ id, name: "Admin Visible", state: "ORG_STATE_ACTIVE", primaryDomain: `admin-visible.${host}` });
      expect((await admin("GET", "/orgs/4711")).json).toEqual(zitadelError(5, "QUERY-leq5Q", "Organisation not found"));

      const byName = await admin("POST", "/orgs/_search", { body: { queries: [{ nameQuery: { name: "admin vis", method: "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE" } }] } });
      expect(byName.json.result.map((o: { id: string }) => o.id)).toEqual([id]);
      expect(byName.json.details).toMatchObject({ totalResult: "1", viewTimestamp: expect.stringMatching(ISO) });
      const byDomain = await admin("POST", "/orgs/_search", { body: { queries: [{ domainQuery: { domain: `admin-visible.${host}` } }] } });
      expect(byDomain.json.result.map((o: { id: string }) => o.id)).toEqual([id]);
      const all = await admin("POST", "/orgs/_search", { body: { sortingColumn: "ORG_FIELD_NAME_NAME", query: { asc: true } } });
      const names = all.json.result.map((o: { name: string }) => o.name) as string[];
      expect(names).toEqual([...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
      expect(names).toContain(defaultName);
      const page = await admin("POST", "/orgs/_search", { body: { query: { offset: "1", limit: 2 } } });
      expect(page.json.result).toHaveLength(2);
      expect(page.json.details.totalResult).toBe(String(names.length));
      const inactive = await admin("POST", "/orgs/_search", { body: { queries: [{ stateQuery: { state: "ORG_STATE_INACTIVE" } }] } });
      expect(inactive.status).toBe(200);
      const empty = await admin("POST", "/orgs/_search", { body: { queries: [{}] } });
      expect(empty.status).toBe(400);

      expect((await admin("GET", "/orgs/_is_unique?name=admin%20VISIBLE")).json).toEqual({});
      expect((await admin("GET", `/orgs/_is_unique?domain=admin-visible.${host}`)).json).toEqual({});
      expect((await admin("GET", "/orgs/_is_unique?name=Nobody%20Has%20This")).json).toEqual({ isUnique: true });
      const neither = await admin("GET", "/orgs/_is_unique");
      expect(neither.status).toBe(400);
      expect(neither.json).toEqual(zitadelError(3, "QUERY-DGqfd", "Request is invalid"));
    });
  });
});
