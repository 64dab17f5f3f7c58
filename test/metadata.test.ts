import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { TextQueryMethod } from "@zitadel/proto/zitadel/object_pb.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";
import { managementClient, rest } from "./helpers/clients.js";
import { ISO, addMachine, myOrgId, seedHumanAndForeignMachine, zitadelError } from "./helpers/fixtures.js";

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");

describe.each<Storage>(["pglite", "postgres"])("user metadata over REST (%s)", (storage) => {
  let s: TestServer;
  let orgId: string;
  beforeAll(async () => {
    s = await startTestServer({ storage });
    orgId = await myOrgId(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  const md = (userId: string, method: string, suffix: string, body?: unknown) =>
    rest(s.url, method, `/management/v1/users/${userId}/metadata${suffix}`, { token: s.pat, body });

  it("sets, reads, overwrites and removes a value (base64 in JSON); setting the same value writes nothing", async () => {
    const userId = await addMachine(s, "md-svc");
    const set = await md(userId, "POST", "/color", { value: b64("blue") });
    expect(set.status).toBe(200);
    expect(set.json).toEqual({ details: { sequence: "2", creationDate: expect.stringMatching(ISO), resourceOwner: orgId } });

    const got = await md(userId, "GET", "/color");
    expect(got.status).toBe(200);
    expect(got.json).toEqual({
      metadata: {
        details: { sequence: "2", creationDate: set.json.details.creationDate, changeDate: set.json.details.creationDate, resourceOwner: orgId },
        key: "color",
        value: b64("blue"),
      },
    });

    const same = await md(userId, "POST", "/color", { value: b64("blue") });
    expect(same.status).toBe(200);
    expect(same.json).toEqual(set.json);
    const events = await s.rt.sql.query("SELECT 1 FROM events WHERE aggregate_id = $1 AND event_type = 'user.metadata.set'", [userId]);
    expect(events).toHaveLength(1);

    const changed = await md(userId, "POST", "/color", { value: b64("green") });
    expect(changed.json.details.sequence).toBe("3");
    const reread = await md(userId, "GET", "/color");
    expect(reread.json.metadata.value).toBe(b64("green"));
    expect(reread.json.metadata.details).toMatchObject({ sequence: "3", creationDate: set.json.details.creationDate, changeDate: changed.json.details.creationDate });

    const del = await md(userId, "DELETE", "/color");
    expect(del.status).toBe(200);
    expect(del.json).toEqual({ details: { sequence: "4", changeDate: expect.stringMatching(ISO), resourceOwner: orgId } });
    const again = await md(userId, "DELETE", "/color");
    expect(again.status).toBe(404);
    expect(again.json).toEqual(zitadelError(5, "META-ncnw3", "Metadata not found"));
    const gone = await md(userId, "GET", "/color");
    expect(gone.status).toBe(404);
    expect(gone.json).toEqual(zitadelError(5, "QUERY-Rgh32", "Metadata not found"));
  });

  it("bulk-sets only what changed, lists with key queries and paging, and bulk-removes all or nothing", async () => {
    const userId = await addMachine(s, "md-bulk-svc");
    await md(userId, "POST", "/env", { value: b64("prod") });

    const bulk = await md(userId, "POST", "/_bulk", {
      metadata: [
        { key: "env", value: b64("prod") }, // unchanged: skipped
        { key: "Team", value: b64("payments") },
        { key: "team-lead", value: b64("ada") },
        { key: "region", value: b64("eu") },
      ],
    });
    expect(bulk.status).toBe(200);
    expect(bulk.json).toEqual({ details: { sequence: "5", changeDate: expect.stringMatching(ISO), resourceOwner: orgId } });
    const noop = await md(userId, "POST", "/_bulk", { metadata: [{ key: "region", value: b64("eu") }] });
    expect(noop.json).toEqual(bulk.json); // the user's latest metadata event
    const empty = await md(userId, "POST", "/_bulk", { metadata: [] });
    expect(empty.status).toBe(400);
    expect(empty.json).toEqual(zitadelError(9, "META-9mm2d", "Metadata list is empty"));

    const list = await md(userId, "POST", "/_search", {});
    expect(list.status).toBe(200);
    expect(list.json.details).toEqual({ totalResult: "4", processedSequence: expect.stringMatching(/^\d+$/), viewTimestamp: expect.stringMatching(ISO) });
    expect(list.json.result.map((m: { key: string; value: string }) => [m.key, Buffer.from(m.value, "base64").toString()])).toEqual([
      ["Team", "payments"],
      ["env", "prod"],
      ["region", "eu"],
      ["team-lead", "ada"],
    ]);
    expect(list.json.result[0].details).toEqual({ sequence: "3", creationDate: expect.stringMatching(ISO), changeDate: expect.stringMatching(ISO), resourceOwner: orgId });

    const keys = async (key: string, method: string, query?: unknown) =>
      ((await md(userId, "POST", "/_search", { query, queries: [{ keyQuery: { key, method } }] })).json.result ?? []).map((m: { key: string }) => m.key);
    expect(await keys("team", "TEXT_QUERY_METHOD_EQUALS")).toEqual([]);
    expect(await keys("team", "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE")).toEqual(["Team"]);
    expect(await keys("team", "TEXT_QUERY_METHOD_STARTS_WITH")).toEqual(["team-lead"]);
    expect(await keys("team", "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE")).toEqual(["Team", "team-lead"]);
    expect(await keys("E", "TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE")).toEqual(["Team", "env", "region", "team-lead"]);
    expect(await keys("n", "TEXT_QUERY_METHOD_ENDS_WITH")).toEqual(["region"]);
    expect(await keys("%", "TEXT_QUERY_METHOD_CONTAINS")).toEqual([]); // LIKE wildcards are literal

    const page = await md(userId, "POST", "/_search", { query: { offset: "1", limit: 2 } });
    expect(page.json.details.totalResult).toBe("4");
    expect(page.json.result.map((m: { key: string }) => m.key)).toEqual(["env", "region"]);

    const partial = await md(userId, "DELETE", "/_bulk", { keys: ["env", "missing"] });
    expect(partial.status).toBe(404);
    expect(partial.json).toEqual(zitadelError(5, "META-2nnds", "One or more keys do not exist"));
    expect((await md(userId, "POST", "/_search", {})).json.details.totalResult).toBe("4"); // nothing removed
    const none = await md(userId, "DELETE", "/_bulk", { keys: [] });
    expect(none.status).toBe(400);
    expect(none.json).toEqual(zitadelError(9, "META-9mm2d", "Metadata list is empty"));

    const removed = await md(userId, "DELETE", "/_bulk", { keys: ["env", "Team"] });
    expect(removed.status).toBe(200);
    expect(removed.json).toEqual({ details: { sequence: "7", changeDate: expect.stringMatching(ISO), resourceOwner: orgId } });
    expect((await md(userId, "POST", "/_search", {})).json.result.map((m: { key: string }) => m.key)).toEqual(["region", "team-lead"]);
  });

  it("answers ZITADEL's errors for unknown and other-org users and invalid values", async () => {
    const userId = await addMachine(s, "md-err-svc");
    const { humanId, foreignUserId } = await seedHumanAndForeignMachine(s, orgId);
    const notFound = zitadelError(9, "COMMAND-uXHNj", "User could not be found");
    for (const id of ["no-such-user", foreignUserId]) {
      const set = await md(id, "POST", "/k", { value: b64("v") });
      expect(set.status).toBe(400);
      expect(set.json).toEqual(notFound);
      expect((await md(id, "POST", "/_bulk", { metadata: [{ key: "k", value: b64("v") }] })).json).toEqual(notFound);
      expect((await md(id, "DELETE", "/k")).json).toEqual(notFound);
      expect((await md(id, "DELETE", "/_bulk", { keys: ["k"] })).json).toEqual(notFound);
      const list = await md(id, "POST", "/_search", {});
      expect(list.status).toBe(200);
      expect(list.json.result).toBeUndefined();
      expect((await md(id, "GET", "/k")).status).toBe(404);
    }
    // Metadata is for humans too.
    expect((await md(humanId, "POST", "/k", { value: b64("v") })).status).toBe(200);

    const empty = await md(userId, "POST", "/k", {});
    expect(empty.status).toBe(400);
    expect(empty.json).toEqual({ code: 3, message: "invalid SetUserMetadataRequest.Value: value length must be between 1 and 500000 bytes, inclusive" });
    const big = await md(userId, "POST", "/k", { value: b64(Buffer.alloc(500_000, 7)) });
    expect(big.status).toBe(200);
    expect((await md(userId, "GET", "/k")).json.metadata.value).toBe(b64(Buffer.alloc(500_000, 7)));
  });

  it("puts metadata into the PAT's userinfo claims (base64url values)", async () => {
    const userId = await addMachine(s, "md-claims-svc");
    await md(userId, "POST", "/tier", { value: b64("gold?>") });
    const pat = await rest(s.url, "POST", `/management/v1/users/${userId}/pats`, { token: s.pat, body: {} });
    const info = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${pat.json.token}` } });
    expect(((await info.json()) as Record<string, unknown>)["urn:zitadel:iam:user:metadata"]).toEqual({ tier: Buffer.from("gold?>").toString("base64url") });
  });
});

describe("user metadata over gRPC", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("round-trips arbitrary bytes and agrees with REST", async () => {
    const client = managementClient(s.url, "grpc", s.pat);
    const { userId } = await client.addMachineUser({ userName: "md-grpc-svc", name: "G" });
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255, 10, 13]);
    const set = await client.setUserMetadata({ id: userId, key: "blob", value: bytes });
    expect(set.id).toBe("");
    expect(set.details?.sequence).toBe(2n);
    expect(set.details?.creationDate).toBeDefined();
    expect(set.details?.changeDate).toBeUndefined();
    const same = await client.setUserMetadata({ id: userId, key: "blob", value: bytes });
    expect(same.details).toEqual(set.details);

    const got = await client.getUserMetadata({ id: userId, key: "blob" });
    expect(got.metadata?.value).toEqual(bytes);
    const viaRest = await rest(s.url, "GET", `/management/v1/users/${userId}/metadata/blob`, { token: s.pat });
    expect(viaRest.json.metadata.value).toBe(b64(bytes));

    await client.bulkSetUserMetadata({ id: userId, metadata: [{ key: "a", value: new Uint8Array([1]) }, { key: "b", value: new Uint8Array([2]) }] });
    const list = await client.listUserMetadata({ id: userId, queries: [{ query: { case: "keyQuery", value: { key: "blob", method: TextQueryMethod.EQUALS } } }] });
    expect(list.details?.totalResult).toBe(1n);
    expect(list.result.map((m) => m.key)).toEqual(["blob"]);

    const err = await client.bulkRemoveUserMetadata({ id: userId, keys: ["a", "nope"] }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.NotFound);
    expect(err?.rawMessage).toBe("One or more keys do not exist (META-2nnds)");
    const removed = await client.bulkRemoveUserMetadata({ id: userId, keys: ["a", "b"] });
    expect(removed.details?.changeDate).toBeDefined();
    expect((await client.listUserMetadata({ id: userId })).result.map((m) => m.key)).toEqual(["blob"]);
    await client.removeUserMetadata({ id: userId, key: "blob" });
    expect((await client.listUserMetadata({ id: userId })).result).toEqual([]);
  });
});
