/**
 * Property-based fuzzing of caller-chosen identifiers (issue #19): AddMachineUser over REST with
 * arbitrary user ids, usernames and names (identifierText). The server accepts exactly what the
 * rules below allow (the proto's lengths, then domain/identifiers.ts restated independently here),
 * refuses the rest with InvalidArgument, never answers 5xx, and whatever it accepts is fully usable:
 * fetched back by id over REST and Connect, its username works as the OAuth client_id (Basic and
 * client_secret_post), and its id carries a PAT.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { managementClient, rest, tokenRequest } from "../helpers/clients.js";
import { oauthPost } from "../helpers/fixtures.js";
import { identifierText } from "./proto-arbitraries.js";
import { expectHealthy, fuzzParams, runsScaled, startFuzzTarget, statusStats, timeoutFor, type FuzzTarget } from "./support.js";

// The rules, restated (not imported) so that the property checks the server against the spec.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const MARKS = /[\u200e\u200f\u061c]/;
const runes = (s: string) => [...s].length;
const protoLength = (s: string) => runes(s) >= 1 && runes(s) <= 200;
const acceptable = (c: { userName: string; name: string; userId?: string }) => {
  const userName = c.userName.trim();
  const name = c.name.trim();
  if (!protoLength(c.userName) || !protoLength(c.name) || (c.userId !== undefined && !protoLength(c.userId))) return false;
  if (!userName || !name || FORBIDDEN.test(userName) || MARKS.test(userName) || FORBIDDEN.test(name)) return false;
  if (c.userId === undefined) return true;
  const id = c.userId;
  return !FORBIDDEN.test(id) && !MARKS.test(id) && Buffer.byteLength(id) <= 200 && id !== "." && id !== ".." && !/^\s|\s$/u.test(id);
};

const API_SCOPE = "openid profile urn:zitadel:iam:org:project:id:zitadel:aud";

describe("identifier fuzzing", { timeout: timeoutFor(runsScaled(1), 1500) }, () => {
  let t: FuzzTarget;
  beforeAll(async () => {
    t = await startFuzzTarget();
  });
  afterAll(async () => {
    await t?.s.close();
  });

  it("AddMachineUser accepts exactly the acceptable identifiers, and every accepted user is reachable and usable", async () => {
    const stats = statusStats("identifiers");
    const pat = t.fuzzer.pat;
    const connect = managementClient(t.s.url, "connect", pat);
    await fc.assert(
      fc.asyncProperty(
        fc.record({ userName: identifierText(), name: identifierText(), userId: fc.option(identifierText(), { freq: 3, nil: undefined }) }, { requiredKeys: ["userName", "name"] }),
        async (c) => {
          const r = await rest(t.s.url, "POST", "/management/v1/users/machine", { token: pat, body: c });
          expect(r.status, r.text).toBeLessThan(500);
          // Collisions with an earlier case (same username in any case, or same id) say nothing here.
          if (r.status === 409 || r.json?.details?.[0]?.id === "COMMAND-k2una") return stats.add("collision");
          expect(r.status === 200, `${JSON.stringify(c)} → ${r.status} ${r.text}`).toBe(acceptable(c));
          if (r.status !== 200) {
            expect(r.status).toBe(400);
            expect(r.json.code).toBe(3);
            return stats.add(`400:${r.json.details?.[0]?.id ?? "validation"}`);
          }
          stats.add(c.userId === undefined ? "200" : "200:own-id");
          const id = r.json.userId as string;
          if (c.userId !== undefined) expect(id).toBe(c.userId);
          const userName = c.userName.trim();

          const got = await rest(t.s.url, "GET", `/management/v1/users/${encodeURIComponent(id)}`, { token: pat });
          expect(got.status, got.text).toBe(200);
          expect(got.json.user).toMatchObject({ id, userName, machine: { name: c.name.trim() } });
          expect((await connect.getUserByID({ id })).user).toMatchObject({ id, userName });

          const secret = await rest(t.s.url, "PUT", `/management/v1/users/${encodeURIComponent(id)}/secret`, { token: pat, body: {} });
          expect(secret.status, secret.text).toBe(200);
          expect(secret.json.clientId).toBe(userName);
          const basic = await tokenRequest(t.s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: userName, secret: secret.json.clientSecret });
          expect(basic.status, JSON.stringify(basic.json)).toBe(200);
          const post = await oauthPost(t.s.url, "/oauth/v2/token", { grant_type: "client_credentials", scope: API_SCOPE, client_id: userName, client_secret: secret.json.clientSecret });
          expect(post.status, JSON.stringify(post.json)).toBe(200);
          const info = await fetch(`${t.s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${post.json.access_token}` } });
          expect(((await info.json()) as { sub?: string }).sub).toBe(id);

          const created = await rest(t.s.url, "POST", `/management/v1/users/${encodeURIComponent(id)}/pats`, { token: pat, body: {} });
          expect(created.status, created.text).toBe(200);
          expect((await rest(t.s.url, "GET", "/management/v1/iam", { token: created.json.token })).status).toBe(200);
        },
      ),
      fuzzParams(runsScaled(1)),
    );
    stats.print();
    await expectHealthy(t.s);
  });
});
