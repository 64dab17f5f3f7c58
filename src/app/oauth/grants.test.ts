import { createSign, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deriveKeys, keyedHash } from "../../crypto/keys.js";
import { openAccessToken, decodeOpaque } from "../../crypto/tokens.js";
import { OrgStateNum, type InstanceState, type OrgState } from "../../domain/orgs/org.js";
import { UserStateNum, UserType, emptyUser, type UserState } from "../../domain/users/user.js";
import type { AggregateCache } from "../core/aggregate-cache.js";
import type { Deps } from "../core/context.js";
import { OAuthError } from "./errors.js";
import { JWT_BEARER_GRANT } from "./grants.js";
import { createReplayCache } from "./jwt-assertion.js";
import { exchangeToken, type TokenResponse } from "./oauth.js";
import { noMetrics } from "../../telemetry/instruments.js";

const ISSUER = "https://issuer.example";
const NOW = new Date("2026-01-02T03:04:05Z");
const nowSec = Math.floor(NOW.getTime() / 1000);
const keys = deriveKeys("grants-test-master-key");
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });

const org: OrgState = { id: "o1", exists: true, state: OrgStateNum.active, name: "Org", primaryDomain: "org.example", sequence: 1, members: new Map() } as OrgState;
const instance = { id: "i", exists: true, name: "I", defaultOrgId: "o1", projectId: "p1", sequence: 1, members: new Map() } as InstanceState;
const machine: UserState = {
  ...emptyUser("u1"),
  orgId: "o1",
  type: UserType.machine,
  state: UserStateNum.active,
  userName: "m1",
  name: "M1",
  secrets: new Map([["4", { id: "4", hash: keyedHash(keys.hmac, "s3cret"), description: "", expiration: undefined, sequence: 4, createdAt: NOW, changedAt: NOW }]]),
  keys: new Map([["k1", { id: "k1", type: 1, expiration: new Date("2030-01-01"), publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(), sequence: 5, createdAt: NOW }]]),
  sequence: 5,
};

/** Deps over a cache holding `cached` (everything when not said), with everything stored behind it; records the loads. */
function depsWith(cached: "all" | "none" | string[] = "all") {
  const stored: Record<string, unknown> = { "login:m1": "u1", "user:u1": machine, "org:o1": org, "instance:i": instance };
  const has = (k: string) => cached === "all" || (cached !== "none" && cached.includes(k));
  const loads: string[] = [];
  let ids = 0;
  const cache = {
    peek: (_i: string, type: string, id: string) => (has(`${type}:${id}`) ? stored[`${type}:${id}`] : undefined),
    // Login names are case-insensitive, as the real cache's.
    peekUserIdByLoginName: (_i: string, name: string) => (has(`login:${name.toLowerCase()}`) ? (stored[`login:${name.toLowerCase()}`] ?? null) : undefined),
    get: async (_i: string, type: string, id: string) => {
      loads.push(`${type}:${id}`);
      return stored[`${type}:${id}`] ?? emptyUser(id);
    },
    userIdByLoginName: async (_i: string, name: string) => {
      loads.push(`login:${name.toLowerCase()}`);
      return stored[`login:${name.toLowerCase()}`];
    },
  } as unknown as AggregateCache;
  const deps = {
    cache,
    instanceId: "i",
    keys,
    clock: () => NOW,
    newId: () => `t${++ids}`,
    config: { externalUrl: ISSUER, accessTokenLifetime: 3600, oauth: { maxAssertionLifetime: 3600, requireAssertionJti: false } },
    log: { debug() {} },
    signingKeys: [],
    usedAssertions: { claim: async () => true },
    metrics: noMetrics,
    lastUsed: { touch: () => undefined },
  } as unknown as Deps;
  return { deps, loads };
}

const form = (o: Record<string, string>) => new Map(Object.entries(o));
const API_SCOPE = "urn:zitadel:iam:org:project:id:zitadel:aud";
const creds = (secret = "s3cret", clientId = "M1") => ({ clientId, secret });

function assertion(claims: Record<string, unknown> = {}): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${b64({ alg: "RS256", kid: "k1" })}.${b64({ iss: "u1", sub: "u1", aud: ISSUER, iat: nowSec, exp: nowSec + 300, ...claims })}`;
  return `${input}.${createSign("RSA-SHA256").update(input).sign(privateKey).toString("base64url")}`;
}

/** The error a (sync or async) call ends with. */
async function failure(f: () => unknown): Promise<OAuthError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(OAuthError);
    return e as OAuthError;
  }
  throw new Error("did not fail");
}

const claimsOf = (t: TokenResponse) => openAccessToken(keys, decodeOpaque(t.access_token)!);

describe("client_credentials", () => {
  it("answers from the cache without a promise, and with the same token after loading everything", async () => {
    const warm = depsWith("all");
    const sync = exchangeToken(warm.deps, createReplayCache(), form({ grant_type: "client_credentials", scope: API_SCOPE }), creds());
    expect(sync).not.toBeInstanceOf(Promise);
    const cold = depsWith("none");
    const loaded = exchangeToken(cold.deps, createReplayCache(), form({ grant_type: "client_credentials", scope: API_SCOPE }), creds());
    expect(loaded).toBeInstanceOf(Promise);
    expect(await loaded).toEqual(sync);
    expect(cold.loads).toEqual(["login:m1", "user:u1", "org:o1", "instance:i"]);
    expect(claimsOf(sync as TokenResponse)).toMatchObject({ sub: "u1", org: "o1", aud: ["p1"], scope: [API_SCOPE], cred: "secret:4", clientId: "m1", exp: nowSec + 3600 });
  });

  it("checks the client before the scope, cached or not", async () => {
    for (const cached of ["all", "none"] as const) {
      const bad = await failure(() => exchangeToken(depsWith(cached).deps, createReplayCache(), form({ grant_type: "client_credentials" }), creds("wrong")));
      expect([bad.error, bad.kind]).toEqual(["invalid_client", "Unauthenticated"]);
      const unknown = await failure(() => exchangeToken(depsWith(cached).deps, createReplayCache(), form({ grant_type: "client_credentials" }), creds("x", "nobody")));
      expect(unknown.error).toBe("invalid_client");
      const noScope = await failure(() => exchangeToken(depsWith(cached).deps, createReplayCache(), form({ grant_type: "client_credentials", scope: " " }), creds()));
      expect([noScope.error, noScope.kind]).toEqual(["invalid_request", "InvalidArgument"]);
    }
  });

  it("answers a client known to be nobody from the cache", () => {
    const { deps, loads } = depsWith(["login:nobody"]);
    expect(() => exchangeToken(deps, createReplayCache(), form({ grant_type: "client_credentials", scope: API_SCOPE }), creds("x", "nobody"))).toThrow(OAuthError);
    expect(loads).toEqual([]);
  });
});

describe("jwt-bearer", () => {
  it("spends the assertion's jti once, also when the decision runs again after a load", async () => {
    const replay = createReplayCache();
    const jwt = assertion({ jti: "j1" });
    // The user is cached (the jti is spent on the first run), the org is not: the second run must not count as a replay.
    const { deps, loads } = depsWith(["user:u1", "instance:i"]);
    const t = await exchangeToken(deps, replay, form({ grant_type: JWT_BEARER_GRANT, assertion: jwt, scope: API_SCOPE }), undefined);
    expect(loads).toEqual(["org:o1"]);
    expect(claimsOf(t)).toMatchObject({ sub: "u1", cred: "key:k1" });
    const again = await failure(() => exchangeToken(depsWith().deps, replay, form({ grant_type: JWT_BEARER_GRANT, assertion: jwt, scope: API_SCOPE }), undefined));
    expect([again.error, again.description]).toEqual(["invalid_grant", "invalid assertion"]);
  });

  it("checks the scope before spending the jti", async () => {
    const replay = createReplayCache();
    const jwt = assertion({ jti: "j2" });
    const noScope = await failure(() => exchangeToken(depsWith().deps, replay, form({ grant_type: JWT_BEARER_GRANT, assertion: jwt }), undefined));
    expect(noScope.error).toBe("invalid_request");
    // The scope-less request spent nothing: the same assertion still obtains a token (asynchronously:
    // a spent assertion is claimed in the shared used_assertions table before tokens are issued).
    await expect(Promise.resolve(exchangeToken(depsWith().deps, replay, form({ grant_type: JWT_BEARER_GRANT, assertion: jwt, scope: API_SCOPE }), undefined))).resolves.toMatchObject({ token_type: "Bearer" });
  });
});

describe("the token endpoint", () => {
  it("names the grant type it does not know", async () => {
    expect((await failure(() => exchangeToken(depsWith().deps, createReplayCache(), form({}), undefined))).description).toBe("grant_type missing");
    const e = await failure(() => exchangeToken(depsWith().deps, createReplayCache(), form({ grant_type: "password" }), undefined));
    expect([e.error, e.description]).toEqual(["unsupported_grant_type", "password is not supported"]);
  });
});
