/**
 * Property-based fuzzing of the OAuth endpoints over HTTP/1.1 (raw bytes on a socket): the token
 * endpoint, introspection, revocation, userinfo, discovery and JWKS, with random form bodies,
 * duplicate parameters, random and malformed Authorization headers, random content types and
 * methods, oversized bodies, and JWT assertions with hostile claims (some of them properly signed
 * with a real machine key). Every answer is JSON; every error is RFC 6749 {error, error_description?}
 * with a 4xx; afterwards the server is healthy and still issues tokens.
 */
import { createPrivateKey } from "node:crypto";
import fc from "fast-check";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rest, tokenRequest } from "../helpers/clients.js";
import {
  ANSWER_MS,
  expectHealthy,
  expectOAuthAnswer,
  fuzzParams,
  headerSafe,
  nastyString,
  patShapedToken,
  pctEncode,
  rawRequest,
  runsScaled,
  startFuzzTarget,
  statusStats,
  timeoutFor,
  type FuzzTarget,
} from "./support.js";

const API_SCOPE = "openid urn:zitadel:iam:org:project:id:zitadel:aud";
const FORM = "application/x-www-form-urlencoded";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const b64url = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

// Generous: single exchanges have their own ANSWER_MS limit; this only bounds a whole property.
describe("OAuth endpoint fuzzing", { timeout: timeoutFor(runsScaled(3), 150) }, () => {
  let t: FuzzTarget;
  /** A live access token of the fuzz client, and its machine key (for signed assertions). */
  let accessToken: string;
  let key: { keyId: string; userId: string; sign: (claims: Record<string, unknown>, header?: Record<string, unknown>) => Promise<string> };

  beforeAll(async () => {
    t = await startFuzzTarget();
    const tok = await tokenRequest(t.s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: t.client.userName, secret: t.client.secret });
    expect(tok.status).toBe(200);
    accessToken = tok.json.access_token as string;
    const added = await rest(t.s.url, "POST", `/management/v1/users/${t.client.userId}/keys`, { token: t.s.pat, orgId: t.fuzzOrgId, body: { type: "KEY_TYPE_JSON" } });
    expect(added.status).toBe(200);
    const file = JSON.parse(Buffer.from(added.json.keyDetails as string, "base64").toString("utf8")) as { keyId: string; key: string; userId: string };
    const privateKey = createPrivateKey(file.key);
    key = {
      keyId: file.keyId,
      userId: file.userId,
      sign: (claims, header = {}) => new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: file.keyId, ...header } as never).sign(privateKey),
    };
  });
  afterAll(async () => {
    await t?.s.close();
  });

  const nowS = () => Math.floor(Date.now() / 1000);

  /** Assertions: unsigned or wrongly built JWTs with hostile headers and claims, and some properly signed ones. */
  const assertion = () => {
    const id = fc.oneof(fc.constant(key.userId), fc.constant(t.client.userName), nastyString(20, false), fc.constant("\u0000" + key.userId), fc.constant(""));
    const numeric = fc.oneof(
      fc.integer({ min: -120, max: 4000 }).map((d) => nowS() + d),
      fc.constantFrom<unknown>(null, "1700000000", 1e308, -1e308, 0, 1.5, true, [], {}),
    );
    const claims = fc.record(
      {
        iss: id,
        sub: id,
        aud: fc.oneof(fc.constant(t.s.url), fc.constant([t.s.url, "x"]), fc.constant(`${t.s.url}/`), nastyString(20, false), fc.constant([] as string[]), fc.constant(null)),
        exp: numeric,
        iat: numeric,
        nbf: numeric,
        jti: fc.oneof(fc.uuid(), fc.constant("fixed-jti"), nastyString(300, false), fc.constant(7)),
        scope: nastyString(20, false),
      },
      { requiredKeys: [] },
    );
    const header = fc.record(
      {
        alg: fc.constantFrom<unknown>("RS256", "none", "HS256", "ES256", "rs256", null, ""),
        kid: fc.oneof(fc.constant<unknown>(key.keyId), nastyString(20, false), fc.constant(null), fc.constant("x".repeat(300))),
        typ: fc.constantFrom("JWT", "at+jwt", ""),
        crit: fc.constant(["exp"]),
        jku: fc.constant("http://127.0.0.1:1/jwks"),
      },
      { requiredKeys: [] },
    );
    return fc.oneof(
      // Unsigned or garbage-signed compact JWS (exercise everything before the signature check).
      { weight: 4, arbitrary: fc.tuple(header, claims, fc.oneof(fc.base64String({ maxLength: 400 }), fc.constant(""))).map(([h, c, sig]) => `${b64url(h)}.${b64url(c)}.${sig.replace(/=/g, "")}`) },
      // Signed with the real key; the claims decide (replayed jti, wrong aud, expired, delegation, ...).
      { weight: 3, arbitrary: fc.tuple(claims, fc.constantFrom({}, { typ: "JWT" }, { kid: "other" })).map(([c, h]) => ({ signed: true as const, c, h })) },
      { weight: 1, arbitrary: fc.oneof(nastyString(100, false), fc.constantFrom("a.b.c", "..", "eyJ.eyJ.", "e30.e30.e30", "e30.W10.", "bnVsbA.bnVsbA.")) },
    );
  };

  const resolve = async (a: string | { signed: true; c: Record<string, unknown>; h: Record<string, unknown> }) => (typeof a === "string" ? a : key.sign(a.c, a.h));

  /** Authorization header values for client authentication, mostly malformed Basic. */
  const authorization = () =>
    fc.option(
      fc.oneof(
        { weight: 3, arbitrary: fc.constant(`Basic ${Buffer.from(`${t.client.userName}:${t.client.secret}`).toString("base64")}`) },
        { weight: 2, arbitrary: fc.tuple(nastyString(20, false), nastyString(20, false)).map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom(t.client.userName, "\u0000", "%00", "%zz", "a%"), nastyString(20, false)).map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`) },
        { weight: 1, arbitrary: fc.constantFrom("Basic", "Basic ", "basic Og==", "BASIC Og==", "Basic !!!!", "Basic Zm9v", "Basic =", "Basic " + "A".repeat(8000), "Bearer x", "Digest a=b", "Basic Og== Og==") },
        { weight: 1, arbitrary: nastyString(60, false).map((v) => headerSafe(v)) },
        { weight: 1, arbitrary: patShapedToken.map((v) => `Bearer ${v}`) },
        { weight: 1, arbitrary: fc.constant(`Bearer ${accessToken}`) },
      ),
      { freq: 2 },
    );

  /** Form parameters: the names the endpoints read, with valid and hostile values, duplicates and noise. */
  const formPairs = (extra: readonly string[]) => {
    const value = (name: string): fc.Arbitrary<string> => {
      switch (name) {
        case "grant_type":
          return fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom("client_credentials", JWT_BEARER) },
            { weight: 1, arbitrary: fc.constantFrom("password", "authorization_code", "refresh_token", "CLIENT_CREDENTIALS", "") },
            { weight: 1, arbitrary: nastyString(20, false) },
          );
        case "scope":
          return fc.oneof(fc.constantFrom(API_SCOPE, "openid", "profile email", "urn:zitadel:iam:org:id:1", "openid ".repeat(2000), ""), nastyString(40));
        case "client_id":
          return fc.oneof(fc.constantFrom(t.client.userName, t.client.userName.toUpperCase(), key.userId, "\u0000", ""), nastyString(20));
        case "client_secret":
          return fc.oneof(fc.constant(t.client.secret), fc.constant(t.client.secret.slice(1)), nastyString(70));
        case "client_assertion_type":
          return fc.oneof(fc.constant(CLIENT_ASSERTION_TYPE), nastyString(20, false));
        case "token":
        case "access_token":
          return fc.oneof(fc.constant(accessToken), fc.constant(t.fuzzer.pat), patShapedToken, nastyString(60), fc.constant(accessToken.slice(0, -2)));
        case "token_type_hint":
          return fc.constantFrom("access_token", "refresh_token", "x", "");
        default:
          return nastyString(30);
      }
    };
    const names = ["grant_type", "scope", "client_id", "client_secret", ...extra];
    // Mostly each parameter at most once (duplicates end every request at the first check), plus a
    // little noise: a duplicated known parameter or an unknown one.
    const likely = new Set(["grant_type", "scope", "token"]);
    const once = fc
      .tuple(...names.map((n) => fc.option(value(n).map((v) => [n, v] as const), { freq: likely.has(n) ? 8 : 2 })))
      .map((ps) => ps.filter((p): p is readonly [string, string] => p !== null));
    const noise = fc.oneof(fc.constantFrom(...names).chain((n) => value(n).map((v) => [n, v] as const)), fc.tuple(nastyString(12, false), nastyString(30)));
    return fc.tuple(once, fc.array(noise, { maxLength: 2 }), fc.nat({ max: 9 })).map(([base, extra, k]) => (k < 7 ? base : [...base, ...extra]) as (readonly [string, string])[]);
  };

  const encodeForm = (pairs: readonly (readonly [string, string])[], raw: boolean) =>
    raw ? pairs.map(([k, v]) => `${k}=${v}`).join("&") : new URLSearchParams(pairs.map(([k, v]): [string, string] => [k, v])).toString();

  const contentType = fc.oneof(
    { weight: 6, arbitrary: fc.constant(FORM) },
    { weight: 1, arbitrary: fc.constantFrom(`${FORM}; charset=utf-8`, "application/json", "multipart/form-data; boundary=x", "text/plain", "", "APPLICATION/X-WWW-FORM-URLENCODED") },
    { weight: 1, arbitrary: nastyString(30, false).map(headerSafe) },
  );
  const method = fc.oneof({ weight: 8, arbitrary: fc.constant("POST") }, { weight: 1, arbitrary: fc.constantFrom("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE") });

  /** Sends one fuzzed form request and applies the OAuth oracle. */
  async function send(path: string, c: { method: string; contentType: string | null; auth: string | null; body: string | Buffer; chunked: boolean }) {
    const headers: [string, string][] = [];
    if (c.contentType !== null) headers.push(["Content-Type", c.contentType]);
    if (c.auth !== null) headers.push(["Authorization", c.auth]);
    const body = typeof c.body === "string" ? Buffer.from(c.body, "utf8") : c.body;
    const r = await rawRequest(t.s.port, { method: c.method, target: path, headers, body: c.method === "GET" || c.method === "HEAD" ? undefined : body, chunked: c.chunked });
    if (r.kind === "closed") throw new Error("connection closed without an answer");
    if (c.method === "HEAD") {
      expect(r.status).toBeLessThan(500);
      return r;
    }
    expectOAuthAnswer(r);
    return r;
  }

  const formRequest = (extra: readonly string[], withAssertion: boolean) =>
    fc.record({
      method,
      contentType: fc.option(contentType, { freq: 8 }),
      auth: authorization(),
      pairs: formPairs(extra),
      assertion: withAssertion ? fc.option(assertion(), { freq: 2 }) : fc.constant(null),
      assertionParam: fc.constantFrom("assertion", "client_assertion"),
      raw: fc.boolean(),
      chunked: fc.boolean(),
      oversized: fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 64 * 1024 + 1, max: 3_000_000 }) }),
    });

  async function bodyOf(c: { pairs: readonly (readonly [string, string])[]; assertion: unknown; assertionParam: string; raw: boolean; oversized: number }) {
    let pairs = [...c.pairs];
    if (c.assertion !== null) pairs = [...pairs.filter(([k]) => k !== c.assertionParam), [c.assertionParam, await resolve(c.assertion as never)]];
    let body = encodeForm(pairs, c.raw);
    if (c.oversized) body += "&pad=" + "x".repeat(c.oversized);
    return body;
  }

  it("the token endpoint answers random requests with tokens or RFC 6749 errors", async () => {
    const stats = statusStats("token");
    await fc.assert(
      fc.asyncProperty(formRequest(["assertion", "audience", "resource"], true), async (c) => {
        const r = await send("/oauth/v2/token", { ...c, body: await bodyOf(c) });
        if (r.status === 200 && c.method !== "HEAD") {
          const json = JSON.parse(r.body.toString()) as Record<string, unknown>;
          expect(typeof json.access_token).toBe("string");
          expect(json.token_type).toBe("Bearer");
        }
        const e = JSON.parse(r.body.toString() || "{}") as { error?: string; error_description?: string };
        stats.add(r.status === 200 ? "200" : `${r.status}:${e.error}:${(e.error_description ?? "").slice(0, 40)}`);
      }),
      fuzzParams(runsScaled(3)),
    );
    stats.print();
    await expectTokensStillWork();
  });

  it("introspection and revocation answer random requests with JSON or RFC 6749 errors", async () => {
    const stats = statusStats("introspect/revoke");
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/oauth/v2/introspect", "/oauth/v2/revoke"), formRequest(["token", "token_type_hint", "client_assertion_type", "client_assertion"], true), async (path, c) => {
        const r = await send(path, { ...c, body: await bodyOf(c) });
        stats.add(`${path.slice(10)}:${r.status}`);
      }),
      fuzzParams(runsScaled(2)),
    );
    stats.print();
    await expectTokensStillWork();
  });

  it("userinfo answers random bearer tokens, forms and methods with claims or an error", async () => {
    const stats = statusStats("userinfo");
    const bearer = fc.option(
      fc.oneof(
        fc.constant(`Bearer ${accessToken}`),
        fc.constant(`Bearer ${t.fuzzer.pat}`),
        patShapedToken.map((v) => `Bearer ${v}`),
        nastyString(60, false).map((v) => `Bearer ${headerSafe(v)}`),
        fc.constantFrom("Bearer", "Bearer ", "bearer " + "x".repeat(20), "Basic Og==", `Bearer ${accessToken} extra`, `Bearer  ${accessToken}`),
        assertion().map((a) => (typeof a === "string" ? `Bearer ${headerSafe(a)}` : "Bearer eyJ")),
      ),
      { freq: 6 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({ method, contentType: fc.option(contentType, { freq: 2 }), auth: bearer, pairs: formPairs(["access_token"]), raw: fc.boolean(), chunked: fc.boolean() }),
        async (c) => {
          const r = await send("/oidc/v1/userinfo", { ...c, body: encodeForm(c.pairs, c.raw) });
          if (r.status === 401 && !r.headers["www-authenticate"]?.startsWith("Bearer")) throw new Error(`401 without a Bearer challenge: ${JSON.stringify(r.headers)}`);
          stats.add(r.status);
        },
      ),
      fuzzParams(runsScaled(2)),
    );
    stats.print();
    await expectTokensStillWork();
  });

  /**
   * RFC 7235 §4.1 with RFC 6750 §3's auth-params: an auth-scheme, then token=quoted-string pairs whose
   * text is printable ASCII without `"` or `\\` (so no CR/LF and nothing that closes the string).
   */
  const CHALLENGE = /^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*( [A-Za-z0-9_-]+="[\x20\x21\x23-\x5b\x5d-\x7e]*"(, [A-Za-z0-9_-]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*)?$/;
  const OAUTH_FORM_PATHS = ["/oidc/v1/userinfo", "/oauth/v2/token", "/oauth/v2/introspect", "/oauth/v2/revoke"] as const;

  /** One form POST with raw bytes; any answer but a 4xx/2xx with a well-formed challenge fails. */
  async function postRawForm(path: string, body: Buffer, auth?: string) {
    const headers: [string, string][] = [["Content-Type", FORM]];
    if (auth !== undefined) headers.push(["Authorization", auth]);
    const r = await rawRequest(t.s.port, { method: "POST", target: path, headers, body });
    if (r.kind === "closed") throw new Error(`${path}: connection closed without an answer`);
    expect(r.status, `${path}: ${r.body.toString()}`).toBeLessThan(500);
    expectOAuthAnswer(r);
    const challenge = r.headers["www-authenticate"];
    if (challenge !== undefined) expect(challenge, path).toMatch(CHALLENGE);
    return r;
  }

  it("issue #19: a duplicated form key with non-ASCII, CR/LF or quotes is a 400 with no caller input in WWW-Authenticate", async () => {
    for (const k of ["\u20ac", "\u00e9", "a\r\nX-Evil: 1", 'a", realm="evil', "a%0D%0AX-Evil:%201", "%E2%82%AC", 'a%22%2C%20realm%3D%22evil']) {
      for (const path of OAUTH_FORM_PATHS) {
        const r = await postRawForm(path, Buffer.from(`${k}=1&${k}=2`, "utf8"));
        expect(r.status, `${JSON.stringify(k)} ${path}`).toBe(400);
        expect(JSON.parse(r.body.toString()).error).toBe("invalid_request");
        if (path === "/oidc/v1/userinfo") expect(r.headers["www-authenticate"]).toBe('Bearer error="invalid_request", error_description="a parameter must not be included more than once"');
      }
    }
  });

  it("arbitrary form keys and values (unicode, CR/LF, quotes, duplicates) never answer 5xx; challenges stay in the RFC 6750 grammar", async () => {
    const stats = statusStats("hostile form keys");
    const piece = fc.oneof(
      nastyString(24, false),
      fc.string({ unit: fc.constantFrom("\r", "\n", '"', "\\", ",", "=", " ", "\u00e9", "\u20ac", "\u{1f600}", "\ud800", "\0", "a", "%0D", "%0A", "%22", "%E2%82%AC", "%FF"), maxLength: 16 }),
      fc.constantFrom("access_token", "token", "grant_type", "client_id", "scope"),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...OAUTH_FORM_PATHS),
        fc.array(fc.tuple(piece, piece), { maxLength: 5 }),
        fc.nat({ max: 4 }),
        fc.boolean(),
        fc.option(fc.constantFrom(`Basic ${Buffer.from("fuzz-client:wrong").toString("base64")}`, "Bearer nope"), { freq: 3 }),
        async (path, pairs, dup, raw, auth) => {
          // Duplicate one of the keys (most of the time), raw or percent-encoded.
          const all = pairs.length > 0 && dup > 0 ? [...pairs, pairs[dup % pairs.length]!] : pairs;
          const r = await postRawForm(path, Buffer.from(encodeForm(all, raw), "utf8"), auth ?? undefined);
          stats.add(`${path.slice(-8)}:${r.status}`);
        },
      ),
      fuzzParams(runsScaled(2)),
    );
    stats.print();
    await expectTokensStillWork();
  });

  it("discovery and JWKS answer any method and query with their JSON", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/.well-known/openid-configuration", "/oauth/v2/keys"), method, fc.option(nastyString(30, false).map(pctEncode)), async (path, m, q) => {
        const r = await rawRequest(t.s.port, { method: m, target: q === null ? path : `${path}?${q}`, ...(m === "POST" ? { body: Buffer.from("x=1") } : {}) });
        if (r.kind === "closed") throw new Error("connection closed without an answer");
        expect(r.status).toBeLessThan(500);
        if (m !== "HEAD") expectOAuthAnswer(r);
      }),
      fuzzParams(runsScaled(0.5)),
    );
    await expectHealthy(t.s);
  });

  /** Health, plus the properties did not break issuing: the fuzz client still gets a token and it still works. */
  async function expectTokensStillWork() {
    await expectHealthy(t.s);
    const tok = await tokenRequest(t.s.url, { grant_type: "client_credentials", scope: API_SCOPE }, { id: t.client.userName, secret: t.client.secret });
    expect(tok.status).toBe(200);
    const info = await fetch(`${t.s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${tok.json.access_token}` }, signal: AbortSignal.timeout(ANSWER_MS) });
    expect(info.status).toBe(200);
  }
});
