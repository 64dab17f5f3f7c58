import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService } from "@zitadel/proto/zitadel/admin_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rest } from "./helpers/clients.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";

const follow = async (s: TestServer, query: string, token = s.pat) => {
  const res = await fetch(`${s.url}/portcullis/v1/events?${query}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, json: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
};

describe.each<Storage>(["pglite", "postgres"])("event streaming (%s)", (storage) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage });
  });
  afterAll(async () => {
    await s?.close();
  });

  async function machineWithSecret(userName: string) {
    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName, name: userName } });
    expect(add.status).toBe(200);
    const sec = await rest(s.url, "PUT", `/management/v1/users/${add.json.userId}/secret`, { token: s.pat, body: {} });
    const pat = await rest(s.url, "POST", `/management/v1/users/${add.json.userId}/pats`, { token: s.pat, body: {} });
    return { userId: add.json.userId as string, secret: sec.json.clientSecret as string, pat: pat.json.token as string };
  }

  it("ListEvents over REST and gRPC: filtered, ascending from a position, secrets and hashes withheld", async () => {
    const m = await machineWithSecret(`ev-${storage}`);
    const all = await rest(s.url, "POST", "/admin/v1/events/_search", { token: s.pat, body: { asc: true, aggregateTypes: ["user"], aggregateId: m.userId } });
    expect(all.status).toBe(200);
    const types = all.json.events.map((e: { type: { type: string } }) => e.type.type);
    expect(types).toEqual(["user.machine.added", "user.machine.secret.set", "user.pat.added"]);
    const text = JSON.stringify(all.json);
    expect(text).not.toContain(m.secret);
    expect(text).not.toContain(m.pat);
    const set = all.json.events[1];
    // The secret's id is kept (it names which secret, not what it is); its hash is withheld.
    expect(set.payload).toEqual({ secretId: expect.any(String), hashedSecret: "[redacted]" });
    expect(all.json.events[2].payload.tokenHash).toBe("[redacted]");
    expect(set.aggregate).toMatchObject({ id: m.userId, type: { type: "user" } });
    expect(set.editor.userId).toBeTruthy();
    // sequence is the position: the cursor to continue from.
    const after = await rest(s.url, "POST", "/admin/v1/events/_search", { token: s.pat, body: { asc: true, sequence: set.sequence, aggregateId: m.userId } });
    expect(after.json.events.map((e: { type: { type: string } }) => e.type.type)).toEqual(["user.pat.added"]);

    const admin = createClient(AdminService, createGrpcTransport({ baseUrl: s.url, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${s.pat}`), next(req))] }));
    const g = await admin.listEvents({ eventTypes: ["user.machine.secret.set"], aggregateId: m.userId });
    expect(g.events).toHaveLength(1);
    expect(g.events[0]!.payload).toEqual({ secretId: expect.any(String), hashedSecret: "[redacted]" });
    const types2 = await admin.listEventTypes({});
    expect(types2.eventTypes.map((t) => t.type)).toContain("user.machine.secret.removed");
    expect((await admin.listAggregateTypes({})).aggregateTypes.map((t) => t.type)).toEqual(["federation_policy", "instance", "org", "project", "user", "usergrant"]);
  });

  it("requires events.read: a machine without instance roles is refused", async () => {
    const m = await machineWithSecret(`ev-noperm-${storage}`);
    expect((await rest(s.url, "POST", "/admin/v1/events/_search", { token: m.pat, body: {} })).status).toBe(404);
    expect((await follow(s, "after=0", m.pat)).status).toBe(404);
    expect((await follow(s, "after=0", "nope")).status).toBe(401);
  });

  it("GET /portcullis/v1/events long-polls: a waiting follower gets the next event, and pages reach the end without gaps", async () => {
    const head = await follow(s, "after=0&limit=1000");
    const end = Number(head.json.position);
    // Nothing after the end: a long poll waits, then answers as soon as an event is written.
    const started = Date.now();
    const waiting = follow(s, `after=${end}&wait=20&event_type=user.machine.added`);
    await new Promise((r) => setTimeout(r, 300));
    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: `ev-wait-${storage}`, name: "w" } });
    const got = await waiting;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(got.status).toBe(200);
    expect(got.json.events.map((e: { aggregate: { id: string } }) => e.aggregate.id)).toEqual([add.json.userId]);
    // No event after: an empty page with the same position, after the wait.
    const empty = await follow(s, `after=${got.json.position}&wait=1`);
    expect(empty.json).toEqual({ events: [], position: got.json.position });
    // Paging by position with limit 2 sees every event once, in order.
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const p = await follow(s, `after=${after}&limit=2`);
      for (const e of p.json.events) seen.push(Number(e.position));
      if (p.json.position === String(after)) break;
      after = Number(p.json.position);
    }
    const full = await rest(s.url, "POST", "/admin/v1/events/_search", { token: s.pat, body: { asc: true, limit: 1000 } });
    expect(seen).toEqual(full.json.events.map((e: { sequence: string }) => Number(e.sequence)));
  });
});
