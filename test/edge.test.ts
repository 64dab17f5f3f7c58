import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ManagementService } from "@zitadel/proto/zitadel/management_pb.js";
import { managementHandlers } from "../src/api/services/management.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { managementClient, rest, tokenRequest, errorOf } from "./helpers/clients.js";


describe("the API edge", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("serves the public health check without a token", async () => {
    const r = await rest(s.url, "GET", "/management/v1/healthz");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({});
    expect((await rest(s.url, "GET", "/admin/v1/healthz")).json).toEqual({});
  });

  it("answers Unimplemented (12 / 501) naming the method for every method Portcullis does not implement", async () => {
    const client = createClient(ManagementService, createConnectTransport({ baseUrl: s.url, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${s.pat}`), next(req))] }));
    const missing = ManagementService.methods.filter((m) => !managementHandlers[m.localName]);
    expect(missing.length).toBeGreaterThan(150);
    for (const m of missing) {
      const call = (client as unknown as Record<string, (r: object) => Promise<unknown>>)[m.localName]!;
      const err = await errorOf(call({}));
      // Validation runs before the handler, so a method whose empty request is invalid says so instead.
      if (err?.code === Code.InvalidArgument) continue;
      expect(err?.code, m.name).toBe(Code.Unimplemented);
      expect(err?.rawMessage).toContain(`zitadel.management.v1.ManagementService.${m.name} is not implemented`);
    }
    // A human-only method: it stays unimplemented.
    const r = await rest(s.url, "GET", "/management/v1/users/123/profile", { token: s.pat });
    expect(r.status).toBe(501);
    expect(r.json).toEqual({
      code: 12,
      message: "zitadel.management.v1.ManagementService.GetHumanProfile is not implemented by Portcullis (API-unimpl)",
      details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "API-unimpl", message: "zitadel.management.v1.ManagementService.GetHumanProfile is not implemented by Portcullis" }],
    });
  });

  it("answers unknown routes with 404 and wrong verbs with 405 in grpc-gateway's shape", async () => {
    expect(await rest(s.url, "GET", "/management/v1/no/such/thing", { token: s.pat })).toMatchObject({ status: 404, json: { code: 5, message: "Not Found" } });
    expect(await rest(s.url, "GET", "/nothing-here")).toMatchObject({ status: 404, json: { code: 5, message: "Not Found" } });
    expect(await rest(s.url, "PATCH", "/management/v1/users/123/secret", { token: s.pat })).toMatchObject({ status: 405, json: { code: 12, message: "Method Not Allowed" } });
  });

  it("authenticates before it validates, with ZITADEL's messages", async () => {
    // A body that parses but breaks the proto's rules: authentication comes first.
    const none = await rest(s.url, "POST", "/management/v1/users/machine", { body: { name: "x" } });
    expect(none.status).toBe(401);
    expect(none.json).toEqual({ code: 16, message: "auth header missing" });
    const basic = await rest(s.url, "GET", "/management/v1/orgs/me", { headers: { authorization: "Basic Zm9vOmJhcg==" } });
    expect(basic.json).toMatchObject({ code: 16, message: "invalid auth header (AUTH-toLo1)" });
    const bad = await rest(s.url, "GET", "/management/v1/orgs/me", { token: "garbage" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toBe("Errors.Token.Invalid (AUTH-7fs1e)");
    expect(bad.json).toEqual({
      code: 16,
      message: "Errors.Token.Invalid (AUTH-7fs1e)",
      details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "AUTH-7fs1e", message: "Errors.Token.Invalid" }],
    });
    const grpcErr = await errorOf(managementClient(s.url, "grpc", "garbage").getMyOrg({}));
    expect(grpcErr?.code).toBe(Code.Unauthenticated);
    expect(grpcErr?.rawMessage).toBe("Errors.Token.Invalid (AUTH-7fs1e)");
    const noHeader = await errorOf(managementClient(s.url, "grpc").getMyOrg({}));
    expect(noHeader?.code).toBe(Code.Unauthenticated);
  });

  it("rejects malformed input as InvalidArgument and validates from the proto rules", async () => {
    const malformed = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: "{not json" });
    expect(malformed.status).toBe(400);
    expect(malformed.json.code).toBe(3);
    expect(malformed.json.message).toMatch(/^proto: /);
    const empty = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { name: "x" } });
    expect(empty).toMatchObject({ status: 400, json: { code: 3, message: "invalid AddMachineUserRequest.UserName: value length must be between 1 and 200 runes, inclusive" } });
    expect(empty.json.details).toBeUndefined();
    const grpcErr = await errorOf(managementClient(s.url, "grpc", s.pat).addMachineUser({ userName: "x", name: "" }));
    expect(grpcErr?.code).toBe(Code.InvalidArgument);
    expect(grpcErr?.rawMessage).toBe("invalid AddMachineUserRequest.Name: value length must be between 1 and 200 runes, inclusive");
    // grpc-gateway leniency: snake_case names, enum names, unknown fields ignored.
    const lenient = await rest(s.url, "POST", "/management/v1/users/machine", {
      token: s.pat,
      body: { user_name: "lenient", name: "L", access_token_type: "ACCESS_TOKEN_TYPE_JWT", somethingElse: 1 },
    });
    expect(lenient.status).toBe(200);
    const got = await rest(s.url, "GET", `/management/v1/users/${lenient.json.userId}`, { token: s.pat });
    expect(got.json.user.machine).toEqual({ name: "L", accessTokenType: "ACCESS_TOKEN_TYPE_JWT" });
  });

  it("refuses bodies above the limit with 413 / ResourceExhausted", async () => {
    const big = JSON.stringify({ userName: "big", name: "x".repeat(1_100_000) });
    const r = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: big });
    expect(r.status).toBe(413);
    expect(r.json.code).toBe(8);
    const grpcErr = await errorOf(managementClient(s.url, "grpc", s.pat).addMachineUser({ userName: "big", name: "x".repeat(1_100_000) }));
    expect(grpcErr?.code).toBe(Code.ResourceExhausted);
  });

  it("resolves the target org from x-zitadel-orgid and refuses unknown orgs", async () => {
    const r = await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat, orgId: "123456789" });
    expect(r.status).toBe(403);
    expect(r.json.message).toBe("Organisation doesn't exist (AUTH-Bs7Ds)");
    const me = await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat });
    const same = await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat, orgId: me.json.org.id });
    expect(same.json.org.id).toBe(me.json.org.id);
  });

  it("accepts OAuth access tokens on the API only with this server's audience; PATs need none", async () => {
    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "aud-svc", name: "Aud" } });
    const secret = (await rest(s.url, "PUT", `/management/v1/users/${add.json.userId}/secret`, { token: s.pat })).json.clientSecret as string;
    const noAud = await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid profile" }, { id: "aud-svc", secret });
    const withAud = await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid urn:zitadel:iam:org:project:id:zitadel:aud" }, { id: "aud-svc", secret });
    expect((await rest(s.url, "GET", "/management/v1/iam", { token: noAud.json.access_token })).status).toBe(401);
    // Authenticated, but not a member anywhere: membership not found.
    const denied = await rest(s.url, "GET", `/management/v1/users/${add.json.userId}`, { token: withAud.json.access_token });
    expect(denied).toMatchObject({ status: 404, json: { message: "membership not found (AUTHZ-cdgFk)" } });
    const iam = await rest(s.url, "GET", "/management/v1/iam", { token: withAud.json.access_token });
    expect(iam.status).toBe(200);
    expect(iam.json.iamProjectId).toMatch(/^\d+$/);
  });

  it("reads the OAuth endpoints' bodies only as forms: the media type without case, parameters allowed", async () => {
    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "ctype-svc", name: "Content type" } });
    const secret = (await rest(s.url, "PUT", `/management/v1/users/${add.json.userId}/secret`, { token: s.pat })).json.clientSecret as string;
    const form = new URLSearchParams({ grant_type: "client_credentials", scope: "openid", client_id: "ctype-svc", client_secret: secret }).toString();
    const post = async (path: string, contentType: string | undefined, body: string, auth?: string) => {
      const headers: Record<string, string> = {};
      if (contentType !== undefined) headers["content-type"] = contentType;
      if (auth) headers.authorization = auth;
      const r = await fetch(`${s.url}${path}`, { method: "POST", headers, body: contentType === undefined ? new Blob([body]) : body });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    };
    for (const ok of ["application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", " application/x-www-form-urlencoded ;charset=utf-8"])
      expect((await post("/oauth/v2/token", ok, form)).status).toBe(200);
    const notForm = { error: "invalid_request", error_description: "the body must be application/x-www-form-urlencoded" };
    for (const bad of ["text/plain", "application/json", "multipart/form-data; boundary=x", "text/plain;x=application/x-www-form-urlencoded", undefined]) {
      expect([bad, await post("/oauth/v2/token", bad, form)]).toEqual([bad, { status: 400, json: notForm }]);
      expect([bad, await post("/oauth/v2/introspect", bad, `token=x&${form}`)]).toEqual([bad, { status: 400, json: notForm }]);
    }
    // userinfo takes the token from a form body only; from any other body it sees no token at all.
    const access = (await post("/oauth/v2/token", "application/x-www-form-urlencoded", form)).json.access_token as string;
    expect((await post("/oidc/v1/userinfo", "APPLICATION/x-www-form-urlencoded", `access_token=${access}`)).status).toBe(200);
    expect((await post("/oidc/v1/userinfo", "text/plain;x=application/x-www-form-urlencoded", `access_token=${access}`)).status).toBe(401);
    // One way to send the token per request (RFC 6750 §2): the header and the body at once is refused.
    const both = await post("/oidc/v1/userinfo", "application/x-www-form-urlencoded", `access_token=${access}`, `Bearer ${access}`);
    expect(both).toEqual({ status: 400, json: { error: "invalid_request", error_description: "the access token must be sent in one place only" } });
    expect((await post("/oidc/v1/userinfo", "application/x-www-form-urlencoded", "", `Bearer ${access}`)).status).toBe(200);
  });

  it("closes a connection that never sends a byte (slowloris) after the sniff timeout", async () => {
    const net = await import("node:net");
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(s.port, "127.0.0.1");
      socket.on("error", reject);
      socket.on("close", () => resolve());
    });
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(9_000);
    expect(waited).toBeLessThan(15_000);
  }, 20_000);

  it("speaks gRPC-web and Connect over HTTP/2 too", async () => {
    const t = createConnectTransport({ baseUrl: s.url, httpVersion: "2", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${s.pat}`), next(req))] });
    const { org } = await createClient(ManagementService, t).getMyOrg({});
    expect(org?.name).toBe("Portcullis");
  });
});

describe("TLS with ALPN", () => {
  let s: TestServer;
  let dir: string;
  let cert: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
    cert = readFileSync(path.join(dir, "cert.pem"), "utf8");
    s = await startTestServer({ storage: "pglite", env: { PORTCULLIS_TLS_CERT: path.join(dir, "cert.pem"), PORTCULLIS_TLS_KEY: path.join(dir, "key.pem") } });
  });
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves gRPC over h2 and REST over HTTP/1.1 on the same TLS port", async () => {
    const base = `https://127.0.0.1:${s.port}`;
    const grpc = createClient(ManagementService, createGrpcTransport({ baseUrl: base, nodeOptions: { ca: cert }, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${s.pat}`), next(req))] }));
    expect((await grpc.getMyOrg({})).org?.name).toBe("Portcullis");
    const body = await new Promise<{ status: number; alpn: string | false | null; text: string }>((resolve, reject) => {
      const req = https.request(`${base}/management/v1/orgs/me`, { ca: cert, ALPNProtocols: ["http/1.1"], headers: { authorization: `Bearer ${s.pat}` } } as https.RequestOptions, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d));
        const alpn = (res.socket as import("node:tls").TLSSocket).alpnProtocol;
        res.on("end", () => resolve({ status: res.statusCode ?? 0, alpn, text }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(body.status).toBe(200);
    expect(body.alpn).toBe("http/1.1");
    expect(JSON.parse(body.text).org.name).toBe("Portcullis");
  });
});
