import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "./helpers/pg.js";
import { restartableProxy } from "./helpers/tcp-proxy.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { rest, tokenRequest } from "./helpers/clients.js";

/** PostgreSQL going away under a running server: no crash, fast Unavailable, recovery without a restart. */
describe("PostgreSQL outage", () => {
  let s: TestServer;
  let proxy: Awaited<ReturnType<typeof restartableProxy>>;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    proxy = await restartableProxy();
    const u = new URL(db.url);
    u.port = String(proxy.port());
    s = await startTestServer({ databaseUrl: u.toString(), env: { PORTCULLIS_DB_CONNECT_TIMEOUT_MS: "1000" } });
  });
  afterAll(async () => {
    await s?.close();
    await proxy?.stop();
    await drop?.();
  });

  it("answers Unavailable quickly while the database is down and recovers by itself", async () => {
    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "outage-svc", name: "O" } });
    const secret = (await rest(s.url, "PUT", `/management/v1/users/${add.json.userId}/secret`, { token: s.pat })).json.clientSecret as string;
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: "outage-svc", secret })).status).toBe(200);

    await proxy.stop();
    // Past the cluster's fence window the process no longer trusts its caches: every answer needs the database.
    await new Promise((r) => setTimeout(r, 1_700));
    const started = Date.now();
    const write = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "during-outage", name: "D" } });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(write.status).toBe(503);
    expect(write.json.code).toBe(14);
    const list = await rest(s.url, "POST", "/management/v1/users/_search", { token: s.pat, body: {} });
    expect(list.status).toBe(503);
    const token = await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: "outage-svc", secret });
    expect(token.status).toBe(503);
    expect(token.json.error).toBe("temporarily_unavailable");
    expect((await fetch(`${s.url}/debug/ready`)).status).toBe(503);
    expect((await fetch(`${s.url}/debug/healthz`)).status).toBe(200);

    await proxy.start();
    let recovered = false;
    for (let i = 0; i < 50 && !recovered; i++) {
      const r = await rest(s.url, "POST", "/management/v1/users/_search", { token: s.pat, body: {} });
      recovered = r.status === 200;
      if (!recovered) await new Promise((res) => setTimeout(res, 200));
    }
    expect(recovered).toBe(true);
    expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: "outage-svc", secret })).status).toBe(200);
    expect((await fetch(`${s.url}/debug/ready`)).status).toBe(200);
  });
});
