import { rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhook } from "../src/crypto/webhook-signature.js";
import { rest } from "./helpers/clients.js";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";

const ENV = {
  PORTCULLIS_WEBHOOKS_ALLOW_LOOPBACK: "true",
  PORTCULLIS_WEBHOOKS_RETRY_BASE_MS: "30",
  PORTCULLIS_WEBHOOKS_RETRY_MAX_MS: "150",
  PORTCULLIS_WEBHOOKS_MAX_ATTEMPTS: "3",
  PORTCULLIS_WEBHOOKS_LEASE_MS: "3000",
};

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: { webhookId: string; deliveryId: string; event: { position: string; type: string; aggregate: { id: string }; payload: Record<string, unknown> } };
}

/** A webhook receiver on loopback: answers `mode` (204, 503, or closes the connection), 400 for events of refused usernames. */
async function receiver() {
  const got: Delivery[] = [];
  const state = { mode: "up" as "up" | "down" | "reset", refuse: new Set<string>(), attempts: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.attempts++;
      const body = Buffer.concat(chunks).toString();
      if (state.mode === "reset") return req.socket.destroy();
      if (state.mode === "down") return res.writeHead(503).end();
      const json = JSON.parse(body) as Delivery["json"];
      if (state.refuse.has(String(json.event.payload.userName))) return res.writeHead(400).end("no");
      got.push({ headers: req.headers, body, json });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { got, state, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function until(check: () => boolean, ms = 15_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const addMachine = async (s: TestServer, userName: string) => {
  const r = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName, name: userName } });
  expect(r.status).toBe(200);
  return r.json.userId as string;
};

describe.each<Storage>(["pglite", "postgres"])("webhooks (%s)", (storage) => {
  let s: TestServer;
  let rx: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    s = await startTestServer({ storage, env: ENV });
    rx = await receiver();
  });
  afterAll(async () => {
    await s?.close();
    await rx?.close();
  });

  const subscribe = async (body: Record<string, unknown>) => {
    const r = await rest(s.url, "POST", "/portcullis/v1/webhooks", { token: s.pat, body });
    expect(r.status).toBe(200);
    return r.json as { id: string; secret: string; position: string };
  };

  it("refuses URLs that are not http(s) or point at link-local and metadata addresses", async () => {
    for (const url of ["ftp://example.com/x", "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "http://0.0.0.0/", "http://user:pw@example.com/", "nope"]) {
      const r = await rest(s.url, "POST", "/portcullis/v1/webhooks", { token: s.pat, body: { url } });
      expect(r.status, url).toBe(400);
    }
  });

  it("delivers matching events in order, signed; the secret is shown once; a receiver down for a while gets every event when back", async () => {
    const sub = await subscribe({ url: rx.url, eventTypes: ["user.machine.added", "user.machine.secret.set"] });
    expect(sub.secret).toMatch(/^[A-Za-z0-9]{64}$/);
    const listed = await rest(s.url, "GET", "/portcullis/v1/webhooks", { token: s.pat });
    expect(listed.json.result.find((x: { id: string }) => x.id === sub.id)).toMatchObject({ url: rx.url, eventTypes: ["user.machine.added", "user.machine.secret.set"] });
    expect(listed.text).not.toContain(sub.secret);

    const first = await addMachine(s, `wh-a-${storage}`);
    const sec = await rest(s.url, "PUT", `/management/v1/users/${first}/secret`, { token: s.pat, body: {} });
    await until(() => rx.got.filter((d) => d.json.webhookId === sub.id).length >= 2);
    const mine = () => rx.got.filter((d) => d.json.webhookId === sub.id);
    expect(mine().map((d) => d.json.event.type)).toEqual(["user.machine.added", "user.machine.secret.set"]);
    for (const d of mine()) {
      const now = Math.floor(Date.now() / 1000);
      expect(verifyWebhook(sub.secret, d.headers["portcullis-signature"] as string, d.headers["portcullis-timestamp"] as string, d.body, now)).toBe(true);
      expect(verifyWebhook("x".repeat(64), d.headers["portcullis-signature"] as string, d.headers["portcullis-timestamp"] as string, d.body, now)).toBe(false);
      // outside the replay window
      expect(verifyWebhook(sub.secret, d.headers["portcullis-signature"] as string, d.headers["portcullis-timestamp"] as string, d.body, now + 301)).toBe(false);
      expect(d.headers["portcullis-delivery-id"]).toBe(`${sub.id}.${d.json.event.position}`);
    }
    expect(mine()[1]!.body).not.toContain(sec.json.clientSecret);
    expect(mine()[1]!.json.event.payload).toEqual({ secretId: expect.any(String), hashedSecret: "[redacted]" });

    // Down (503, then connection resets): events wait; the error is visible; back up: all of them, in order.
    rx.state.mode = "down";
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await addMachine(s, `wh-down-${storage}-${i}`));
    await until(() => rx.state.attempts > 8);
    rx.state.mode = "reset";
    const attempts = rx.state.attempts;
    await until(() => rx.state.attempts > attempts + 3);
    const during = await rest(s.url, "GET", `/portcullis/v1/webhooks/${sub.id}`, { token: s.pat });
    expect(during.json.lastError).toBeTruthy();
    rx.state.mode = "up";
    await until(() => ids.every((id) => mine().some((d) => d.json.event.aggregate.id === id)));
    const order = mine().map((d) => Number(d.json.event.position));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect((await rest(s.url, "GET", `/portcullis/v1/webhooks/${sub.id}/dead-letters`, { token: s.pat })).json.result).toEqual([]);
    await rest(s.url, "DELETE", `/portcullis/v1/webhooks/${sub.id}`, { token: s.pat });
  });

  it("an event the receiver refuses goes to the dead-letter list after maxAttempts; later events go on; redrive delivers it", async () => {
    const sub = await subscribe({ url: rx.url, aggregateTypes: ["user"], eventTypes: ["user.machine.added"] });
    const mine = () => rx.got.filter((d) => d.json.webhookId === sub.id);
    const bad = `wh-bad-${storage}`;
    rx.state.refuse.add(bad);
    const badId = await addMachine(s, bad);
    const good = await addMachine(s, `wh-good-${storage}`);
    await until(() => mine().some((d) => d.json.event.aggregate.id === good));
    expect(mine().some((d) => d.json.event.aggregate.id === badId)).toBe(false);
    const dead = await rest(s.url, "GET", `/portcullis/v1/webhooks/${sub.id}/dead-letters`, { token: s.pat });
    expect(dead.json.result).toHaveLength(1);
    expect(dead.json.result[0]).toMatchObject({ eventType: "user.machine.added", attempts: 3, lastError: "HTTP 400" });
    rx.state.refuse.delete(bad);
    const redrive = await rest(s.url, "POST", `/portcullis/v1/webhooks/${sub.id}/dead-letters/_redrive`, { token: s.pat, body: {} });
    expect(redrive.json).toEqual({ redriven: 1 });
    await until(() => mine().some((d) => d.json.event.aggregate.id === badId));
    expect((await rest(s.url, "GET", `/portcullis/v1/webhooks/${sub.id}/dead-letters`, { token: s.pat })).json.result).toEqual([]);
    await rest(s.url, "DELETE", `/portcullis/v1/webhooks/${sub.id}`, { token: s.pat });
  });

  it("a removed subscription delivers nothing more; unknown ids are 404; reads need events.read, writes iam.write", async () => {
    const sub = await subscribe({ url: rx.url });
    expect((await rest(s.url, "DELETE", `/portcullis/v1/webhooks/${sub.id}`, { token: s.pat })).status).toBe(200);
    expect((await rest(s.url, "DELETE", `/portcullis/v1/webhooks/${sub.id}`, { token: s.pat })).status).toBe(404);
    await addMachine(s, `wh-after-${storage}`);
    await new Promise((r) => setTimeout(r, 500));
    expect(rx.got.some((d) => d.json.webhookId === sub.id)).toBe(false);
    expect((await rest(s.url, "GET", "/portcullis/v1/webhooks", {})).status).toBe(401);
  });
});

describe("webhooks: two processes on one PostgreSQL", () => {
  let a: TestServer;
  let b: TestServer;
  let rx: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    a = await startTestServer({ storage: "postgres", env: ENV });
    b = await startTestServer({ databaseUrl: a.databaseUrl!, dataDir: a.dataDir, env: ENV });
    rx = await receiver();
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
    await rx?.close();
  });

  it("one deliverer per subscription: each event once, in order, across writes on both processes; the other takes over when the deliverer stops", async () => {
    const sub = (await rest(a.url, "POST", "/portcullis/v1/webhooks", { token: a.pat, body: { url: rx.url, eventTypes: ["user.machine.added"] } })).json as { id: string };
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await addMachine(i % 2 ? b : a, `wh2-${i}`));
    await until(() => ids.every((id) => rx.got.some((d) => d.json.event.aggregate.id === id)));
    await new Promise((r) => setTimeout(r, 500));
    const ds = rx.got.filter((d) => d.json.webhookId === sub.id).map((d) => d.json.deliveryId);
    expect(new Set(ds).size).toBe(ds.length);
    expect(ds).toHaveLength(10);
    // Stop b (it may hold the lease; close releases it): a delivers what follows.
    await b.stop();
    const more = [await addMachine(a, "wh2-after-1"), await addMachine(a, "wh2-after-2")];
    await until(() => more.every((id) => rx.got.some((d) => d.json.event.aggregate.id === id)));
  });
});

describe("webhooks: the cursor outlives a restart (embedded store)", () => {
  it("events written while the receiver is down, the server restarted meanwhile: all delivered, in order, once the receiver is back", async () => {
    const rx = await receiver();
    let s = await startTestServer({ storage: "pglite", env: ENV });
    const dataDir = s.dataDir;
    try {
      const sub = (await rest(s.url, "POST", "/portcullis/v1/webhooks", { token: s.pat, body: { url: rx.url, eventTypes: ["user.machine.added"] } })).json as { id: string };
      rx.state.mode = "down";
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await addMachine(s, `wh-restart-${i}`));
      await until(() => rx.state.attempts > 2);
      await s.stop();
      s = await startTestServer({ dataDir, env: ENV });
      for (let i = 3; i < 5; i++) ids.push(await addMachine(s, `wh-restart-${i}`));
      rx.state.mode = "up";
      await until(() => ids.every((id) => rx.got.some((d) => d.json.event.aggregate.id === id)));
      const got = rx.got.filter((d) => d.json.webhookId === sub.id).map((d) => d.json.event.aggregate.id);
      expect(got).toEqual(ids);
    } finally {
      await s.stop();
      rmSync(dataDir, { recursive: true, force: true });
      await rx.close();
    }
  });
});
