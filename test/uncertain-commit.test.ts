// A write whose outcome the process does not learn (the connection to PostgreSQL broke, or a timeout
// fired, after the commit): other instances evict on the commit notice, and this one skips its own
// notices, so it must not keep answering from the state it cached before the write. Simulated on the
// embedded store with a push that commits through a second store object (no cache listeners) and
// then throws, as a lost reply would.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventStore, type EventStore } from "../src/store/event-store.js";
import { rest, tokenRequest } from "./helpers/clients.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const API = "openid urn:zitadel:iam:org:project:id:zitadel:aud";

describe("a write that committed but reported an error", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("leaves no stale state in this process's cache: the removed secret is refused on the next request", async () => {
    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "lost-reply-svc", name: "Lost reply" } });
    const userId = add.json.userId as string;
    const secret = (await rest(s.url, "PUT", `/management/v1/users/${userId}/secret`, { token: s.pat })).json.clientSecret as string;
    const token = () => tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "lost-reply-svc", secret });
    expect((await token()).status).toBe(200); // the machine is cached now

    const real = s.rt.deps.store;
    const shadow = createEventStore(s.rt.sql, 1);
    const lostReply: EventStore = {
      ...real,
      async push(req) {
        await shadow.push(req);
        throw new Error("connection terminated unexpectedly (after the commit)");
      },
    };
    s.rt.deps.store = lostReply;
    try {
      const removed = await rest(s.url, "DELETE", `/management/v1/users/${userId}/secret`, { token: s.pat });
      expect(removed.status).toBe(500);
    } finally {
      s.rt.deps.store = real;
    }
    // The store holds the removal; this process must not answer from the secret it cached.
    const events = await real.load(s.rt.deps.instanceId, "user", userId);
    expect(events.at(-1)?.type).toBe("user.machine.secret.removed");
    expect((await token()).status).toBe(401);
    expect((await rest(s.url, "GET", `/management/v1/users/${userId}`, { token: s.pat })).json.user.details.sequence).toBe(String(events.at(-1)!.sequence));
  });
});
