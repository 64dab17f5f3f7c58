import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { FederationService } from "../src/api/proto/portcullis/v1/federation_pb.js";
import { rebuildProjections } from "../src/store/rebuild.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { rest, tokenRequest } from "./helpers/clients.js";
import { myOrgId, seedHumanAndForeignMachine } from "./helpers/fixtures.js";
import { githubClaims, kubernetesClaims, startIssuer, type TestIssuer } from "./helpers/issuer.js";

/**
 * portcullis.v1.FederationService over REST, gRPC and Connect (PGlite): trust policies, bindings,
 * presets and the dry run; validation errors; every change with its details.
 */

const AUD = "portcullis";
const API = "urn:zitadel:iam:org:project:id:zitadel:aud";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";

let s: TestServer;
let iss: TestIssuer;

const call = (method: string, path: string, body?: unknown, token = s.pat) => rest(s.url, method, `/portcullis/v1${path}`, { token, body });

function client(protocol: "grpc" | "connect") {
  const interceptors = [(next: (r: never) => Promise<never>) => async (req: { header: Headers }) => (req.header.set("authorization", `Bearer ${s.pat}`), next(req as never))];
  const opts = { baseUrl: s.url, interceptors: interceptors as never };
  return createClient(FederationService, protocol === "grpc" ? createGrpcTransport(opts) : createConnectTransport({ ...opts, httpVersion: "1.1" }));
}

async function machine(userName: string) {
  const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName, name: userName } });
  return add.json.userId as string;
}

const settings = (extra: Record<string, unknown> = {}) => ({ name: "cluster", issuer: iss.url, jwksUri: iss.jwksUri, audiences: [AUD], algorithms: ["RS256"], ...extra });

beforeAll(async () => {
  iss = await startIssuer();
  s = await startTestServer({ storage: "pglite", env: { PORTCULLIS_FEDERATION_ALLOW_HTTP_LOOPBACK: "true" } });
}, 60_000);

afterAll(async () => {
  await s?.close();
  await iss?.close();
});

describe("trust policies over REST", () => {
  it("add, get, list, update, remove, with details", async () => {
    const add = await call("POST", "/federation/policies", { policy: settings({ maxTokenAge: "3600s", requiredClaims: { "kubernetes.io/namespace": "prod" } }) });
    expect(add.status, JSON.stringify(add.json)).toBe(200);
    expect(add.json.details).toMatchObject({ sequence: "1", creationDate: expect.any(String), resourceOwner: expect.any(String) });
    const id = add.json.policyId as string;
    const got = await call("GET", `/federation/policies/${id}`);
    expect(got.json.policy).toMatchObject({ id, name: "cluster", issuer: iss.url, jwksUri: iss.jwksUri, audiences: [AUD], algorithms: ["RS256"], maxTokenAge: "3600s" });
    expect((await call("POST", "/federation/policies/_search", {})).json.result.map((p: { id: string }) => p.id)).toContain(id);
    const upd = await call("PUT", `/federation/policies/${id}`, { policy: settings({ name: "cluster-2", audiences: [AUD, "other"] }) });
    expect(upd.status).toBe(200);
    expect(upd.json.details.changeDate).toBeDefined();
    expect((await call("GET", `/federation/policies/${id}`)).json.policy).toMatchObject({ name: "cluster-2", audiences: [AUD, "other"] });
    const dup = await call("POST", "/federation/policies", { policy: settings() });
    expect(dup.status).toBe(409);
    expect((await call("DELETE", `/federation/policies/${id}`)).status).toBe(200);
    expect((await call("GET", `/federation/policies/${id}`)).status).toBe(404);
  });

  it.each([
    ["an issuer that is not a URL", { issuer: "cluster.local" }, "absolute URL"],
    ["plain http to a non-loopback issuer", { issuer: "http://example.com" }, "https"],
    ["a JWKS URL over plain http off loopback", { jwksUri: "http://example.com/jwks" }, "https"],
    ["HS256", { algorithms: ["HS256"] }, "asymmetric"],
    ["alg none", { algorithms: ["none"] }, "asymmetric"],
    ["no audiences", { audiences: [] }, "audience"],
    ["both a JWKS URL and an uploaded JWKS", { jwks: '{"keys":[]}' }, "exactly one"],
    ["an uploaded JWKS without a usable key", { jwksUri: "", jwks: '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}' }, "no usable"],
  ])("refuses %s (InvalidArgument)", async (_name, extra, words) => {
    const r = await call("POST", "/federation/policies", { policy: settings(extra) });
    expect(r.status).toBe(400);
    expect(r.json.message).toContain(words);
  });

  it("an uploaded JWKS (air-gapped issuer) accepts tokens without any fetch", async () => {
    const airgapped = await startIssuer();
    try {
      const id = await machine("airgapped-svc");
      const add = await call("POST", "/federation/policies", { policy: { ...settings(), issuer: airgapped.url, jwksUri: "", jwks: JSON.stringify(airgapped.jwks()) } });
      expect(add.status, JSON.stringify(add.json)).toBe(200);
      await call("POST", `/users/${id}/federation/bindings`, { policyId: add.json.policyId, subject: "batch" });
      const t = await tokenRequest(s.url, { grant_type: TOKEN_EXCHANGE, subject_token: await airgapped.mint({ sub: "batch", aud: AUD }), subject_token_type: JWT_TYPE, scope: API });
      expect(t.status, JSON.stringify(t.json)).toBe(200);
      expect(airgapped.fetches).toBe(0);
    } finally {
      await airgapped.close();
    }
  });
});

describe("bindings", () => {
  it("need a machine of the org, a policy of the org, exactly one of subject and condition, a condition that compiles", async () => {
    const id = await machine("binding-rules");
    const policyId = (await call("POST", "/federation/policies", { policy: { ...settings(), issuer: "https://bindings.example" } })).json.policyId as string;
    const both = await call("POST", `/users/${id}/federation/bindings`, { policyId, subject: "a", condition: "true" });
    expect(both.status).toBe(400);
    const neither = await call("POST", `/users/${id}/federation/bindings`, { policyId });
    expect(neither.status).toBe(400);
    const broken = await call("POST", `/users/${id}/federation/bindings`, { policyId, condition: "claims.repository ==" });
    expect(broken.status).toBe(400);
    expect(broken.json.message).toContain("condition");
    const noPolicy = await call("POST", `/users/${id}/federation/bindings`, { policyId: "nope", subject: "a" });
    expect(noPolicy.status).toBe(404);
    const { humanId, foreignUserId } = await seedHumanAndForeignMachine(s, await myOrgId(s));
    expect((await call("POST", `/users/${humanId}/federation/bindings`, { policyId, subject: "a" })).status).toBe(404);
    expect((await call("POST", `/users/${foreignUserId}/federation/bindings`, { policyId, subject: "a" })).status).toBe(404);
    const ok = await call("POST", `/users/${id}/federation/bindings`, { policyId, condition: 'claims.repository == "acme/api"', description: "ci" });
    expect(ok.status).toBe(200);
    expect(ok.json.details.creationDate).toBeDefined();
    const list = await call("POST", `/users/${id}/federation/bindings/_search`, {});
    expect(list.json.result).toEqual([expect.objectContaining({ id: ok.json.bindingId, policyId, userId: id, condition: 'claims.repository == "acme/api"', description: "ci" })]);
    expect(list.json.details.totalResult).toBe("1");
  });

  it("removing the machine removes its bindings", async () => {
    const local = await startIssuer();
    try {
      const id = await machine("removed-machine");
      const other = await machine("removed-machine-2");
      const policyId = (await call("POST", "/federation/policies", { policy: { ...settings(), issuer: local.url, jwksUri: local.jwksUri } })).json.policyId as string;
      const gone = (await call("POST", `/users/${id}/federation/bindings`, { policyId, subject: "x" })).json.bindingId as string;
      const kept = (await call("POST", `/users/${other}/federation/bindings`, { policyId, subject: "y" })).json.bindingId as string;
      const before = await call("POST", "/federation/_dry_run", { token: await local.mint({ sub: "x", aud: AUD }) });
      expect(before.json).toMatchObject({ accepted: true, bindingId: gone });
      expect((await rest(s.url, "DELETE", `/management/v1/users/${id}`, { token: s.pat })).status).toBe(200);
      const after = await call("POST", "/federation/_dry_run", { token: await local.mint({ sub: "x", aud: AUD }) });
      expect(after.json.accepted ?? false).toBe(false);
      expect(after.json.refusals).toEqual([expect.objectContaining({ reason: "subject_mismatch", bindingId: kept })]);
    } finally {
      await local.close();
    }
  });
});

describe("presets and the dry run over gRPC and Connect", () => {
  it("a GitHub Actions preset with a binding; the dry run says which binding accepts, or why not", async () => {
    const gh = client("grpc");
    const id = await machine("gh-deployer");
    const r = await gh.addTrustPolicyFromPreset({
      preset: { case: "githubActions", value: { repository: "acme/api", ref: "refs/heads/main", audience: AUD, repositoryId: "", environment: "" } },
      userId: id,
      name: "",
    });
    expect(r.policy?.issuer).toBe("https://token.actions.githubusercontent.com");
    expect(r.bindingId).not.toBe("");
    expect(r.details?.creationDate).toBeDefined();
    const bindings = await client("connect").listFederationBindings({ userId: id });
    expect(bindings.result[0]?.condition).toContain("acme/api");

    // The dry run over our own issuer: a policy and a condition binding.
    const c = client("connect");
    const p = await c.addTrustPolicy({ policy: { name: "dry", issuer: iss.url, jwksUri: iss.jwksUri, audiences: [AUD], algorithms: ["RS256"], requiredClaims: {}, jwks: "", requireJti: false } });
    const b = await c.addFederationBinding({ userId: id, policyId: p.policyId, condition: 'claims.ref == "refs/heads/main"', subject: "", description: "" });
    const ok = await c.dryRunFederation({ token: await iss.mint(githubClaims("acme/api", "refs/heads/main", AUD)), userId: id });
    expect(ok).toMatchObject({ accepted: true, policyId: p.policyId, bindingId: b.bindingId, userId: id });
    expect(ok.claims?.repository).toBe("acme/api");
    const no = await c.dryRunFederation({ token: await iss.mint(githubClaims("acme/api", "refs/heads/dev", AUD)), userId: id });
    expect(no.accepted).toBe(false);
    expect(no.refusals.map((x) => x.reason)).toContain("condition_false");
    const wrongAud = await c.dryRunFederation({ token: await iss.mint(kubernetesClaims("prod", "api", "nobody")), userId: "" });
    expect(wrongAud.refusals.map((x) => x.reason)).toEqual(["audience"]);

    // The dry run spent nothing: the same token still works at the token endpoint.
    const token = await iss.mint(githubClaims("acme/api", "refs/heads/main", AUD));
    expect((await c.dryRunFederation({ token, userId: "" })).accepted).toBe(true);
    const t = await tokenRequest(s.url, { grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: JWT_TYPE, scope: API });
    expect(t.status, JSON.stringify(t.json)).toBe(200);
  });

  it("a policy that requires a jti refuses a token without one; without the requirement such a token is used once", async () => {
    const c = client("grpc");
    const jtiLess = await startIssuer();
    try {
      const id = await machine("jti-svc");
      const p = await c.addTrustPolicy({
        policy: { name: "jti", issuer: jtiLess.url, jwksUri: jtiLess.jwksUri, audiences: [AUD], algorithms: ["RS256"], requiredClaims: {}, jwks: "", requireJti: true },
      });
      await c.addFederationBinding({ userId: id, policyId: p.policyId, subject: "svc", condition: "", description: "" });
      const token = await jtiLess.mint({ sub: "svc", aud: AUD }, { jti: null });
      const refused = await c.dryRunFederation({ token, userId: id });
      expect(refused.accepted).toBe(false);
      expect(refused.refusals.at(-1)?.detail).toContain("jti");
      await c.updateTrustPolicy({
        policyId: p.policyId,
        policy: { name: "jti", issuer: jtiLess.url, jwksUri: jtiLess.jwksUri, audiences: [AUD], algorithms: ["RS256"], requiredClaims: {}, jwks: "", requireJti: false },
      });
      const form = { grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: JWT_TYPE, scope: API };
      expect((await tokenRequest(s.url, form)).status).toBe(200);
      expect((await tokenRequest(s.url, form)).json.error_description).toBe("external token refused (replayed)");
    } finally {
      await jtiLess.close();
    }
  });

  it("the federation read models rebuilt from the events equal the inline ones", async () => {
    const dump = async () => [
      await s.rt.sql.query("SELECT * FROM proj_federation_policies ORDER BY id"),
      await s.rt.sql.query("SELECT * FROM proj_federation_bindings ORDER BY id"),
      await s.rt.sql.query("SELECT id, sequence, changed_at FROM proj_users ORDER BY id"),
    ];
    const before = await dump();
    expect(before[0]!.length).toBeGreaterThan(2);
    expect(before[1]!.length).toBeGreaterThan(2);
    await rebuildProjections(s.rt.sql);
    expect(await dump()).toEqual(before);
  });

  it("errors are gRPC statuses; an unknown policy is NotFound", async () => {
    const err = await client("grpc")
      .getTrustPolicy({ policyId: "missing" })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.NotFound);
  });
});
