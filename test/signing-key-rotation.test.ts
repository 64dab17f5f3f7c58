import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { startTestServer, type Storage, type TestServer } from "./helpers/server.js";
import { rest, tokenRequest } from "./helpers/clients.js";
import { runCli } from "./helpers/process.js";
import { listSigningKeys, rotateSigningKeysNow } from "../src/server/signing-keys.js";

const D = 86_400_000;
const H = 3_600_000;

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = runCli(args, { PORTCULLIS_LOG_LEVEL: "silent", ...env });
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => p.once("exit", (c) => resolve(c)));
  return { code, stdout, stderr };
}

/**
 * The token signing key rotates: a resource server verifying JWT access tokens with jose's remote JWKS
 * (as any OAuth library does) keeps verifying old and new tokens across a forced and a scheduled
 * rotation. The server runs on an injected clock that the test moves through the schedule.
 */
describe.each<Storage>(["pglite", "postgres"])("signing key rotation (%s)", (storage) => {
  let offsetMs = 0;
  const clock = () => new Date(Date.now() + offsetMs);
  let s: TestServer;
  let client: { id: string; secret: string };
  const others: TestServer[] = [];

  beforeAll(async () => {
    s = await startTestServer({ storage, clock });
    const add = await rest(s.url, "POST", "/management/v1/users/machine", {
      token: s.pat,
      body: { userName: "jwt-rotation", name: "JWT", accessTokenType: "ACCESS_TOKEN_TYPE_JWT" },
    });
    expect(add.status).toBe(200);
    const gen = await rest(s.url, "PUT", `/management/v1/users/${add.json.userId}/secret`, { token: s.pat, body: {} });
    client = { id: "jwt-rotation", secret: gen.json.clientSecret as string };
  });
  afterAll(async () => {
    for (const o of others) await o.stop();
    await s?.close();
  });

  const token = async (server: TestServer = s) => {
    const r = await tokenRequest(server.url, { grant_type: "client_credentials", scope: "openid" }, client);
    expect(r.status).toBe(200);
    const kid = decodeProtectedHeader(r.json.access_token as string).kid as string;
    expect(decodeProtectedHeader(r.json.id_token as string).kid).toBe(kid);
    return { jwt: r.json.access_token as string, kid };
  };
  const publishedKids = async () => {
    const r = await fetch(`${s.url}/oauth/v2/keys`);
    expect(r.status).toBe(200);
    return ((await r.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  };
  const keyRows = () => listSigningKeys(s.rt.sql, s.rt.deps.config, clock());

  it("old and new tokens verify through a cached remote JWKS across a forced and a scheduled rotation; retired keys leave after their window", async () => {
    // cooldownDuration 0: jose refetches at once on an unknown kid (its default waits 30 s between fetches).
    const jwks = createRemoteJWKSet(new URL(`${s.url}/oauth/v2/keys`), { cooldownDuration: 0 });
    const verify = async (jwt: string) => (await jwtVerify(jwt, jwks, { issuer: s.url, currentDate: clock() })).protectedHeader.kid;

    // One key at first start; it signs.
    const t1 = await token();
    expect(await publishedKids()).toEqual([t1.kid]);
    expect(await verify(t1.jwt)).toBe(t1.kid);

    // Forced rotation (`portcullis keys rotate`): a new key signs at once; the old one stays published.
    let k2: string;
    if (storage === "postgres") {
      const r = await cli(["keys", "rotate"], { PORTCULLIS_DATABASE_URL: s.databaseUrl!, PORTCULLIS_DATA_DIR: s.dataDir });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const m = /^signing key (\d+) signs from now on \(new\)\nsigning key (\d+) is retired: published until (\S+)\n$/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      expect(m![2]).toBe(t1.kid);
      k2 = m![1]!;

      // A process that has not reloaded yet meets a token signed with the new key by another process:
      // the unknown kid makes it reload the key set, and the token is accepted.
      expect(s.rt.signingKeys.find(k2)).toBeUndefined();
      // A second process of the same deployment: the same database and issuer.
      const peer = await startTestServer({ databaseUrl: s.databaseUrl, dataDir: s.dataDir, clock, env: { PORTCULLIS_EXTERNAL_URL: s.url } });
      others.push(peer);
      const fromPeer = await token(peer);
      expect(fromPeer.kid).toBe(k2);
      const info = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${fromPeer.jwt}` } });
      expect(info.status).toBe(200);
      expect(s.rt.signingKeys.find(k2)).toBeDefined();
    } else {
      const r = await rotateSigningKeysNow(s.rt.sql, s.rt.deps.keys, s.rt.deps.config, s.rt.deps.newId, clock());
      expect(r).toMatchObject({ promoted: false, retired: { id: t1.kid } });
      k2 = r.active;
    }
    await s.rt.signingKeys.refresh();
    const t2 = await token();
    expect(t2.kid).toBe(k2);
    expect(await publishedKids()).toEqual([k2, t1.kid]);
    expect(await verify(t2.jwt)).toBe(k2); // unknown kid for the cached JWKS: refetched
    expect(await verify(t1.jwt)).toBe(t1.kid);
    // The server itself still accepts the token signed with the retired key.
    expect((await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${t1.jwt}` } })).status).toBe(200);

    // The retired key stays published until the longest token lifetime (12 h) + the margin (1 h) after it stopped signing.
    const retired = (await keyRows()).find((k) => k.record.id === t1.kid)!;
    expect(retired.state).toBe("retired");
    const k2Start = (await keyRows()).find((k) => k.record.id === k2)!.record.activateAt.getTime();
    expect(retired.removeAt!.getTime()).toBe(k2Start + 13 * H);
    offsetMs = retired.removeAt!.getTime() - Date.now() - 1000;
    expect(await publishedKids()).toEqual([k2, t1.kid]);
    offsetMs = retired.removeAt!.getTime() - Date.now() + 1000;
    expect(await publishedKids()).toEqual([k2]);
    await s.rt.signingKeys.refresh();
    expect((await keyRows()).map((k) => k.record.id)).toEqual([k2]); // the row is gone too

    // Scheduled rotation: 30 days after k2 started, minus publishAhead (1 day), the next key is published…
    // Every process checks the schedule (here all at once): they agree on one next key.
    offsetMs = k2Start + 29 * D - Date.now();
    await Promise.all([s, ...others].map((x) => x.rt.signingKeys.refresh()));
    const rows = await keyRows();
    expect(rows.map((k) => k.state)).toEqual(["active", "next"]);
    const next = rows.find((k) => k.state === "next")!;
    const k3 = next.record.id;
    expect(await publishedKids()).toEqual([k2, k3]);
    // …at least publishAhead before it signs, and it does not sign yet.
    expect(next.record.activateAt.getTime() - clock().getTime()).toBeGreaterThanOrEqual(D);
    offsetMs = next.record.activateAt.getTime() - Date.now() - 1000;
    const t3 = await token();
    expect(t3.kid).toBe(k2);
    // Once its time has come, every process signs with it (no reload needed: the start is in the row).
    offsetMs = next.record.activateAt.getTime() - Date.now() + 1000;
    const t4 = await token();
    expect(t4.kid).toBe(k3);
    for (const o of others) expect((await token(o)).kid).toBe(k3);
    expect(await verify(t4.jwt)).toBe(k3);
    expect(await verify(t3.jwt)).toBe(k2);
    expect(await publishedKids()).toEqual([k3, k2]);
    expect((await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${t3.jwt}` } })).status).toBe(200);
  });
});
