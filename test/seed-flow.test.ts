import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectError, Code } from "@connectrpc/connect";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";
import { managementClient, rest, tokenRequest, type Protocol } from "./helpers/clients.js";

const API_SCOPE = "openid urn:zitadel:iam:org:project:id:zitadel:aud";
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * The story of the API page we started from: an org admin creates a machine user, gives it a secret,
 * the machine gets a token with it and calls the API; the admin deletes the secret; from that moment
 * the secret opens nothing.
 */
describe.each<Storage>(["pglite", "postgres"])("seed flow over REST (%s)", (storage) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("creates, authenticates, deletes the secret, and the secret opens nothing afterwards", async () => {
    const me = await rest(s.url, "GET", "/management/v1/orgs/me", { token: s.pat });
    expect(me.status).toBe(200);
    const orgId = me.json.org.id as string;

    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "billing-svc", name: "Billing" } });
    expect(add.status).toBe(200);
    expect(add.json.userId).toMatch(/^\d{18,19}$/);
    expect(add.json.details).toEqual({ sequence: "1", changeDate: expect.stringMatching(ISO), resourceOwner: orgId });
    const userId = add.json.userId as string;

    const gen = await rest(s.url, "PUT", `/management/v1/users/${userId}/secret`, { token: s.pat });
    expect(gen.status).toBe(200);
    expect(gen.json.clientId).toBe("billing-svc");
    // Portcullis's leak-detectable format (credentials.secretFormat "zitadel" mints ZITADEL's 64 alphanumerics).
    expect(gen.json.clientSecret).toMatch(/^pcs_[A-Za-z0-9]{64}$/);
    expect(gen.json.details).toEqual({ sequence: "2", creationDate: expect.stringMatching(ISO), resourceOwner: orgId });
    const secret = gen.json.clientSecret as string;

    const got = await rest(s.url, "GET", `/management/v1/users/${userId}`, { token: s.pat });
    expect(got.json.user.machine).toEqual({ name: "Billing", hasSecret: true });

    const tok = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: "billing-svc", secret });
    expect(tok.status).toBe(200);
    expect(tok.json).toMatchObject({ token_type: "Bearer", expires_in: 43200 });
    expect(typeof tok.json.access_token).toBe("string");
    expect(typeof tok.json.id_token).toBe("string");

    const del = await rest(s.url, "DELETE", `/management/v1/users/${userId}/secret`, { token: s.pat });
    expect(del.status).toBe(200);
    expect(del.json).toEqual({ details: { sequence: "3", changeDate: expect.stringMatching(ISO), resourceOwner: orgId } });

    const after = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: "billing-svc", secret });
    expect(after.status).toBe(401);
    expect(after.json.error).toBe("invalid_client");
    expect(after.headers.get("www-authenticate")).toMatch(/^Basic /);

    const again = await rest(s.url, "DELETE", `/management/v1/users/${userId}/secret`, { token: s.pat });
    expect(again.status).toBe(400);
    expect(again.json).toEqual({
      code: 9,
      message: "Secret doesn't exist (COMMAND-coi82n)",
      details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "COMMAND-coi82n", message: "Secret doesn't exist" }],
    });

    const plain = await rest(s.url, "GET", `/management/v1/users/${userId}`, { token: s.pat });
    expect(plain.json.user.machine).toEqual({ name: "Billing" });
  });
});

describe.each<Protocol>(["grpc", "grpc-web", "connect"])("seed flow over %s", (protocol) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("runs the same story with a real client", async () => {
    const client = managementClient(s.url, protocol, s.pat);
    const { org } = await client.getMyOrg({});
    const added = await client.addMachineUser({ userName: `svc-${protocol}`, name: "Svc" });
    expect(added.details?.sequence).toBe(1n);
    expect(added.details?.resourceOwner).toBe(org!.id);
    const gen = await client.generateMachineSecret({ userId: added.userId });
    expect(gen.clientSecret).toMatch(/^pcs_[A-Za-z0-9]{64}$/);
    const removed = await client.removeMachineSecret({ userId: added.userId });
    expect(removed.details?.sequence).toBe(3n);
    expect(removed.details?.changeDate).toBeDefined();
    expect(removed.details?.creationDate).toBeUndefined();

    const err = await client.removeMachineSecret({ userId: added.userId }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(err?.rawMessage).toBe("Secret doesn't exist (COMMAND-coi82n)");
    expect(err?.findDetails(ErrorDetailSchema)).toEqual([expect.objectContaining({ id: "COMMAND-coi82n", message: "Secret doesn't exist" })]);

    const tok = await tokenRequest(s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: `svc-${protocol}`, secret: gen.clientSecret });
    expect(tok.json.error).toBe("invalid_client");
  });
});
