// The API services (every ZITADEL service's descriptors) load on the first request that needs them
// (src/server/http.ts, api-handlers.ts): the server is ready, and answers the OAuth endpoints, without
// them; the first API requests, arriving together, all wait for the same load and are answered.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "./helpers/process.js";

const LOADED = "API services loaded (first API request)";
const count = (text: string, needle: string) => text.split(needle).length - 1;

describe("API services loaded on first use (a server process on the embedded store)", () => {
  let dir: string;
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is ready and answers the OAuth endpoints before loading them, then answers concurrent first API calls in every protocol", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "portcullis-apiload-"));
    server = await startServerProcess({ PORTCULLIS_DATA_DIR: dir });
    const pat = readFileSync(path.join(dir, "admin.pat"), "utf8").trim();
    const auth = { authorization: `Bearer ${pat}` };

    expect((await fetch(`${server.url}/debug/ready`)).status).toBe(200);
    const userinfo = await fetch(`${server.url}/oidc/v1/userinfo`, { headers: auth });
    expect(userinfo.status).toBe(200);
    const me = (await userinfo.json()) as { sub: string };
    expect((await fetch(`${server.url}/.well-known/openid-configuration`)).status).toBe(200);
    expect(count(server.output(), LOADED)).toBe(0);

    // The first API requests arrive together: REST, Connect (JSON) and an unknown REST path.
    const restCalls = Array.from({ length: 8 }, () => fetch(`${server!.url}/management/v1/users/${me.sub}`, { headers: auth }));
    const connectCalls = Array.from({ length: 4 }, () =>
      fetch(`${server!.url}/zitadel.management.v1.ManagementService/GetUserByID`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ id: me.sub }),
      }),
    );
    const unknown = fetch(`${server.url}/management/v1/no-such-thing`, { headers: auth });
    const answers = await Promise.all([...restCalls, ...connectCalls]);
    for (const r of answers) {
      expect(r.status).toBe(200);
      const body = (await r.json()) as { user?: { id?: string } };
      expect(body.user?.id).toBe(me.sub);
    }
    const notFound = await unknown;
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({ code: 5 });

    // Loaded once, for all of them.
    expect(count(server.output(), LOADED)).toBe(1);
    expect((await fetch(`${server.url}/debug/ready`)).status).toBe(200);
  });
});
