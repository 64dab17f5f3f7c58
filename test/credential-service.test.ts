import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { ConnectError, createClient, Code } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CredentialService } from "../src/api/proto/portcullis/v1/credentials_pb.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { rest, tokenRequest } from "./helpers/clients.js";

const API = "urn:zitadel:iam:org:project:id:zitadel:aud";
const V = "/portcullis/v1";

/**
 * portcullis.v1.CredentialService over REST (its own google.api.http routes under /portcullis/v1/)
 * and gRPC, through the same pipeline as ZITADEL's services.
 */
describe("portcullis.v1.CredentialService", () => {
  let s: TestServer;
  const call = (method: string, path: string, body?: unknown) => rest(s.url, method, V + path, { token: s.pat, body });
  const token = (clientId: string, secret: string) => tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: clientId, secret });
  const inSeconds = (n: number) => new Date(Date.now() + n * 1000).toISOString();

  async function machine(userName: string) {
    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName, name: userName } });
    return add.json.userId as string;
  }

  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("adds, lists, gets, updates, rotates and removes secrets over REST", async () => {
    const id = await machine("api-svc");
    const a = await call("POST", `/users/${id}/secrets`, { description: "ci", expirationDate: inSeconds(86400) });
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ clientId: "api-svc", clientSecret: expect.stringMatching(/^pcs_[A-Za-z0-9]{64}$/), secretId: expect.any(String) });
    expect(a.json.details.creationDate).toBeDefined();
    expect((await token("api-svc", a.json.clientSecret)).status).toBe(200);

    const list = await call("POST", `/users/${id}/secrets/_search`, {});
    expect(list.json.details.totalResult).toBe("1");
    expect(list.json.result[0]).toMatchObject({ id: a.json.secretId, description: "ci", expirationDate: expect.any(String), creationDate: expect.any(String) });
    expect(JSON.stringify(list.json)).not.toContain(a.json.clientSecret);

    const upd = await call("PUT", `/users/${id}/secrets/${a.json.secretId}`, { description: "ci-2", clearExpiration: true });
    expect(upd.status).toBe(200);
    const got = await call("GET", `/users/${id}/secrets/${a.json.secretId}`);
    expect(got.json.secret.description).toBe("ci-2");
    expect(got.json.secret.expirationDate).toBeUndefined();

    const rot = await call("POST", `/users/${id}/secrets/_rotate`, { gracePeriod: "3600s", description: "next" });
    expect(rot.status).toBe(200);
    expect(rot.json.retiredSecretIds).toEqual([a.json.secretId]);
    expect((await token("api-svc", rot.json.clientSecret)).status).toBe(200);
    expect((await token("api-svc", a.json.clientSecret)).status).toBe(200); // within the grace period
    const old = await call("GET", `/users/${id}/secrets/${a.json.secretId}`);
    expect(Math.abs(Date.parse(old.json.secret.expirationDate) - (Date.now() + 3600_000))).toBeLessThan(10_000);

    const del = await call("DELETE", `/users/${id}/secrets/${a.json.secretId}`);
    expect(del.status).toBe(200);
    expect((await token("api-svc", a.json.clientSecret)).status).toBe(401);
    expect((await call("GET", `/users/${id}/secrets/${a.json.secretId}`)).status).toBe(404);

    const changes = await rest(s.url, "POST", `/management/v1/users/${id}/changes/_search`, { token: s.pat, body: { query: { asc: true } } });
    expect(changes.json.result.map((c: { eventType: { key: string } }) => c.eventType.key.replace("EventTypes.", ""))).toEqual([
      "user.machine.added",
      "user.machine.secret.added",
      "user.machine.secret.changed",
      "user.machine.secret.added",
      "user.machine.secret.changed",
      "user.machine.secret.deleted",
    ]);
  });

  it("answers bad input with stable error ids and writes nothing", async () => {
    const id = await machine("bad-svc");
    const rotNone = await call("POST", `/users/${id}/secrets/_rotate`, { gracePeriod: "60s" });
    expect(rotNone).toMatchObject({ status: 400, json: { details: [expect.objectContaining({ id: "PORT-secret-none" })] } });
    const past = await call("POST", `/users/${id}/secrets`, { expirationDate: inSeconds(-60) });
    expect(past.status).toBe(400);
    const short = await call("POST", `/users/${id}/secrets`, { expirationDate: inSeconds(600) });
    const tooLong = await call("POST", `/users/${id}/secrets/_rotate`, { gracePeriod: "3600s", secretId: short.json.secretId });
    expect(tooLong).toMatchObject({ status: 400, json: { details: [expect.objectContaining({ id: "PORT-secret-grace" })] } });
    for (let i = 0; i < 9; i++) expect((await call("POST", `/users/${id}/secrets`, {})).status).toBe(200);
    const eleventh = await call("POST", `/users/${id}/secrets`, {});
    expect(eleventh).toMatchObject({ status: 400, json: { details: [expect.objectContaining({ id: "PORT-secrets-max" })] } });
    const list = await call("POST", `/users/${id}/secrets/_search`, {});
    expect(list.json.details.totalResult).toBe("10");
    expect((await call("POST", `/users/nobody/secrets`, {})).status).toBe(404);

    // A secret that never expires, rotated with the longest Duration there is: the old secret would
    // retire after the year 9999, which no timestamp holds. Refused, and the machine stays readable.
    const forever = await machine("grace-svc");
    expect((await call("POST", `/users/${forever}/secrets`, {})).status).toBe(200);
    for (const gracePeriod of ["315576000000s", "253402300800s"]) {
      const far = await call("POST", `/users/${forever}/secrets/_rotate`, { gracePeriod });
      expect(far).toMatchObject({ status: 400, json: { details: [expect.objectContaining({ id: "PORT-secret-grace" })] } });
    }
    const still = await call("POST", `/users/${forever}/secrets/_search`, {});
    expect([still.status, still.json.details.totalResult]).toEqual([200, "1"]);
    expect((await call("POST", `/users/${forever}/secrets/_rotate`, { gracePeriod: "86400s" })).status).toBe(200);
  });

  it("sets and reads the org's credential policy, which bounds new credentials", async () => {
    const id = await machine("pol-svc");
    const set = await call("PUT", "/policies/credentials", { maxSecretLifetime: "86400s", maxPatLifetime: "3600s" });
    expect(set.status).toBe(200);
    try {
      const got = await call("GET", "/policies/credentials");
      expect(got.json.policy).toEqual({ maxSecretLifetime: "86400s", maxKeyLifetime: "0s", maxPatLifetime: "3600s" });
      const far = await call("POST", `/users/${id}/secrets`, { expirationDate: inSeconds(2 * 86400) });
      expect(far).toMatchObject({ status: 400, json: { details: [expect.objectContaining({ id: "PORT-cred-policy" })] } });
      const ok = await call("POST", `/users/${id}/secrets`, {});
      expect(Math.abs(Date.parse(ok.json.expirationDate) - (Date.now() + 86400_000))).toBeLessThan(10_000);
      // Go's zero time is no date given: the policy's limit, as for a PAT without one.
      const zero = await call("POST", `/users/${id}/secrets`, { expirationDate: "0001-01-01T00:00:00Z" });
      expect(Math.abs(Date.parse(zero.json.expirationDate) - (Date.now() + 86400_000))).toBeLessThan(10_000);
      const pat = await rest(s.url, "POST", `/management/v1/users/${id}/pats`, { token: s.pat, body: { expirationDate: "0001-01-01T00:00:00Z" } });
      expect(pat.status).toBe(200);
      const patRead = await rest(s.url, "GET", `/management/v1/users/${id}/pats/${pat.json.tokenId}`, { token: s.pat });
      expect(Math.abs(Date.parse(patRead.json.token.expirationDate) - (Date.now() + 3600_000))).toBeLessThan(10_000);
    } finally {
      await call("PUT", "/policies/credentials", {});
    }
    expect((await call("GET", "/policies/credentials")).json.policy).toEqual({ maxSecretLifetime: "0s", maxKeyLifetime: "0s", maxPatLifetime: "0s" });
  });

  it("lists the org's credentials expiring within a period, soonest first", async () => {
    const id = await machine("exp-svc");
    const sec = await call("POST", `/users/${id}/secrets`, { expirationDate: inSeconds(3 * 86400) });
    const pat = await rest(s.url, "POST", `/management/v1/users/${id}/pats`, { token: s.pat, body: { expirationDate: inSeconds(86400) } });
    const key = await rest(s.url, "POST", `/management/v1/users/${id}/keys`, { token: s.pat, body: { type: "KEY_TYPE_JSON", expirationDate: inSeconds(20 * 86400) } });
    await call("POST", `/users/${id}/secrets`, {}); // never expires: not listed
    const r = await call("POST", "/credentials/expiring/_search", { within: `${7 * 86400}s` });
    const mine = r.json.result.filter((c: { userId: string }) => c.userId === id);
    expect(mine.map((c: { kind: string; id: string }) => [c.kind, c.id])).toEqual([
      ["CREDENTIAL_KIND_PERSONAL_ACCESS_TOKEN", pat.json.tokenId],
      ["CREDENTIAL_KIND_SECRET", sec.json.secretId],
    ]);
    expect(mine[0].userName).toBe("exp-svc");
    const later = await call("POST", "/credentials/expiring/_search", { within: `${30 * 86400}s` });
    expect(later.json.result.some((c: { id: string }) => c.id === key.json.keyId)).toBe(true);
    expect((await call("POST", "/credentials/expiring/_search", {})).status).toBe(400);
  });

  it("is served over gRPC with the same permissions, listed by reflection and described by OpenAPI", async () => {
    const id = await machine("grpc-svc");
    const client = createClient(CredentialService, createGrpcTransport({ baseUrl: s.url, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${s.pat}`), next(req))] }));
    const added = await client.addSecret({ userId: id, description: "grpc" });
    expect(added.clientSecret).toMatch(/^pcs_/);
    const listed = await client.listSecrets({ userId: id });
    expect(listed.result.map((x) => x.id)).toEqual([added.secretId]);
    const anon = createClient(CredentialService, createGrpcTransport({ baseUrl: s.url }));
    await expect(anon.listSecrets({ userId: id })).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.Unauthenticated);

    const doc = await fetch(`${s.url}/openapi/portcullis.v1.CredentialService.json`);
    expect(doc.status).toBe(200);
    const paths = Object.keys(((await doc.json()) as { paths: Record<string, unknown> }).paths);
    expect(paths).toContain("/portcullis/v1/users/{user_id}/secrets/_rotate");
  });
});

describe("last use of credentials", () => {
  const minute = (ms: number) => ms - (ms % 60_000);

  it("is gathered in memory, written once per credential per interval however many requests, shown in lists, and flushed at shutdown", async () => {
    const env = { PORTCULLIS_CREDENTIALS_LAST_USED_WRITE_INTERVAL: "60000" };
    let s = await startTestServer({ storage: "pglite", env });
    const dataDir = s.dataDir;
    try {
      const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "lu-svc", name: "lu" } });
      const id = add.json.userId as string;
      const sec = await rest(s.url, "POST", `${V}/users/${id}/secrets`, { token: s.pat, body: {} });
      const pat = await rest(s.url, "POST", `/management/v1/users/${id}/pats`, { token: s.pat, body: {} });
      const before = Date.now();
      for (let i = 0; i < 30; i++)
        expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "lu-svc", secret: sec.json.clientSecret })).status).toBe(200);
      for (let i = 0; i < 10; i++) expect((await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${pat.json.token}` } })).status).toBe(200);
      const writesBefore = s.rt.deps.lastUsed.writes;
      expect(await s.rt.deps.lastUsed.flush()).toBeGreaterThanOrEqual(2); // the admin PAT too
      expect(await s.rt.deps.lastUsed.flush()).toBe(0); // nothing new: no write
      for (let i = 0; i < 10; i++) await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "lu-svc", secret: sec.json.clientSecret });
      expect(await s.rt.deps.lastUsed.flush()).toBeLessThanOrEqual(1); // the same minute: written already (unless the minute turned)
      expect(s.rt.deps.lastUsed.writes - writesBefore).toBeLessThanOrEqual(4);

      const got = await rest(s.url, "GET", `${V}/users/${id}/secrets/${sec.json.secretId}`, { token: s.pat });
      const lastUsed = Date.parse(got.json.secret.lastUsed);
      expect(lastUsed).toBeGreaterThanOrEqual(minute(before));
      expect(lastUsed % 60_000).toBe(0);
      // Unused for an hour: not this one (used this minute); a secret never used counts from its creation.
      const idle = await rest(s.url, "POST", `${V}/users/${id}/secrets`, { token: s.pat, body: {} });
      const hour = await rest(s.url, "POST", `${V}/credentials/expiring/_search`, { token: s.pat, body: { unusedFor: "3600s" } });
      expect((hour.json.result ?? []).map((c: { id: string }) => c.id)).not.toContain(sec.json.secretId);
      await new Promise((r) => setTimeout(r, 1100));
      const second = await rest(s.url, "POST", `${V}/credentials/expiring/_search`, { token: s.pat, body: { unusedFor: "1s" } });
      expect(second.json.result.find((c: { id: string }) => c.id === idle.json.secretId)).toMatchObject({ kind: "CREDENTIAL_KIND_SECRET", userName: "lu-svc" });
      expect(second.json.result.find((c: { id: string }) => c.id === idle.json.secretId).lastUsed).toBeUndefined();

      // Used, then a graceful stop: the shutdown writes it; a restart reads it.
      const key = await rest(s.url, "POST", `${V}/users/${id}/secrets`, { token: s.pat, body: {} });
      await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "lu-svc", secret: key.json.clientSecret });
      await s.stop();
      s = await startTestServer({ storage: "pglite", env, dataDir });
      const again = await rest(s.url, "GET", `${V}/users/${id}/secrets/${key.json.secretId}`, { token: s.pat });
      expect(again.json.secret.lastUsed).toBeDefined();
    } finally {
      await s.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
