import type { LookupAddress } from "node:dns";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeKey, startJwksServer, type JwksServer } from "../../test/helpers/jwt-issuer.js";
import { JwksUnavailableError } from "../crypto/external-jwt.js";
import type { TrustPolicy } from "../domain/federation/types.js";
import { createJwksFetcher, maxAgeOf, type JwksFetcherOptions } from "./jwks-fetcher.js";

/** The fetcher against a real loopback JWKS endpoint; a test clock drives the cache and the refresh interval. */

const k1 = makeKey("ES256", "k1");
const k2 = makeKey("ES256", "k2");

let server: JwksServer;
beforeAll(async () => {
  server = await startJwksServer([k1]);
});
afterAll(() => server.close());
afterEach(() => {
  server.keys = [k1.jwk];
  delete server.handler;
  delete server.cacheControl;
  server.hits = 0;
});

const policy = (jwksUri: string, over: Partial<TrustPolicy> = {}): TrustPolicy => ({
  id: "p1",
  orgId: "o1",
  name: "p",
  issuer: "https://issuer.test",
  jwksUri,
  audiences: ["a"],
  algorithms: ["ES256"],
  requiredClaims: {},
  ...over,
});

function fetcher(over: JwksFetcherOptions = {}) {
  let now = 1_000_000;
  const f = createJwksFetcher({ allowHttpLoopback: true, clock: () => now, ...over });
  return { f, advance: (ms: number) => (now += ms) };
}

const unavailable = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(JwksUnavailableError);
  return (e as Error).message;
};

/** A resolver that answers fixed addresses for any name (what DNS would say). */
const resolveTo =
  (...ips: string[]) =>
  (_h: string, _o: { all: true }, cb: (err: Error | null, a: LookupAddress[]) => void) =>
    cb(
      null,
      ips.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
    );

describe("JWKS fetcher", () => {
  it("fetches once, then serves from the cache until the TTL, honouring Cache-Control max-age within bounds", async () => {
    const { f, advance } = fetcher();
    const p = policy(server.url);
    expect(await f.getKey(p, "k1", "ES256")).toBeDefined();
    expect(await f.getKey(p, "k1", "ES256")).toBeDefined();
    expect([f.fetches, server.hits]).toEqual([1, 1]);
    advance(5 * 60_000); // the default TTL without Cache-Control
    await f.getKey(p, "k1", "ES256");
    expect(server.hits).toBe(2);

    server.cacheControl = "public, max-age=3600";
    advance(5 * 60_000);
    await f.getKey(p, "k1", "ES256");
    advance(59 * 60_000);
    await f.getKey(p, "k1", "ES256");
    expect(server.hits).toBe(3);
    advance(2 * 60_000);
    server.cacheControl = "max-age=1"; // below the minimum: kept 60 s
    await f.getKey(p, "k1", "ES256");
    advance(30_000);
    await f.getKey(p, "k1", "ES256");
    expect(server.hits).toBe(4);
    expect([maxAgeOf("no-store"), maxAgeOf('max-age="20", public'), maxAgeOf(undefined)]).toEqual([0, 20, undefined]);
  });

  it("picks up a rotated key (new kid) without restart, and a kid-miss storm fetches at most once per interval per JWKS URL", async () => {
    const { f, advance } = fetcher();
    const p = policy(server.url);
    await f.getKey(p, "k1", "ES256");
    advance(10_000);
    server.keys = [k1.jwk, k2.jwk]; // the issuer rotates
    expect(await f.getKey(p, "k2", "ES256")).toBeDefined();
    expect(server.hits).toBe(2);

    // 200 concurrent tokens with unknown kids: one fetch, shared.
    advance(10_000);
    const storm = await Promise.all(Array.from({ length: 200 }, (_, i) => f.getKey(p, `forged-${i}`, "ES256")));
    expect(storm.every((k) => k === undefined)).toBe(true);
    expect(server.hits).toBe(3);
    // More misses within the interval: none; the known kids keep working.
    for (let i = 0; i < 50; i++) await f.getKey(p, `again-${i}`, "ES256");
    expect(await f.getKey(p, "k2", "ES256")).toBeDefined();
    expect(server.hits).toBe(3);
    // Another policy (another org) trusting the same issuer at another URL: just fetched, so no miss refresh yet.
    await f.getKey(policy(`${server.url}?org=2`, { id: "p2" }), "k1", "ES256");
    expect(server.hits).toBe(4);
    await f.getKey(policy(`${server.url}?org=2`, { id: "p2" }), "forged", "ES256");
    expect(server.hits).toBe(4);
    advance(5_000);
    await f.getKey(p, "forged-after", "ES256");
    expect(server.hits).toBe(5);
  });

  it("misses forged against one policy's JWKS URL do not hold back another URL's refresh for the same issuer", async () => {
    const { f, advance } = fetcher();
    const pA = policy(server.url);
    const pB = policy(`${server.url}?b`, { id: "p2", orgId: "o2" });
    await f.getKey(pA, "k1", "ES256");
    await f.getKey(pB, "k1", "ES256");
    expect(server.hits).toBe(2);
    advance(10_000);
    // An attacker's token with an unknown kid against A: A's JWKS is fetched again.
    expect(await f.getKey(pA, "forged", "ES256")).toBeUndefined();
    expect(server.hits).toBe(3);
    // The issuer rotates; B's first token with the new kid fetches B's JWKS at once and verifies.
    server.keys = [k1.jwk, k2.jwk];
    expect(await f.getKey(pB, "k2", "ES256")).toBeDefined();
    expect(server.hits).toBe(4);
  });

  it("refuses an answer over the size limit (declared or streamed), a slow one, a non-200 and a non-JWKS", async () => {
    const { f, advance } = fetcher({ maxBytes: 1024, timeoutMs: 300 });
    const p = policy(server.url);
    const big = JSON.stringify({ keys: [k1.jwk], pad: "x".repeat(2000) });
    server.handler = (_q, res) => res.writeHead(200, { "content-length": Buffer.byteLength(big) }).end(big);
    expect(await unavailable(f.getKey(p, "k1", "ES256"))).toMatch(/larger than 1024 bytes/);
    advance(5000);
    server.handler = (_q, res) => {
      res.writeHead(200);
      res.write(big.slice(0, 800));
      res.end(big.slice(800));
    };
    expect(await unavailable(f.getKey(p, "k1", "ES256"))).toMatch(/larger than 1024 bytes/);
    advance(5000);
    server.handler = (_q, res) => {
      res.writeHead(200);
      res.write('{"keys":['); // and never more
    };
    const t0 = Date.now();
    expect(await unavailable(f.getKey(p, "k1", "ES256"))).toMatch(/within 300 ms/);
    expect(Date.now() - t0).toBeLessThan(3000);
    advance(5000);
    server.handler = (_q, res) => res.writeHead(503).end();
    expect(await unavailable(f.getKey(p, "k1", "ES256"))).toMatch(/HTTP 503/);
    advance(5000);
    server.handler = (_q, res) => res.writeHead(200).end("<html>");
    expect(await unavailable(f.getKey(p, "k1", "ES256"))).toMatch(/not JSON/);
    advance(5000);
    server.handler = (_q, res) => res.writeHead(200).end(JSON.stringify({ keys: [{ kty: "oct", k: "AAAA" }] }));
    expect(await unavailable(f.getKey(p, "k1", "ES256"))).toMatch(/no usable key \(key 0: kty "oct"/);
  });

  it("does not retry a failing issuer within the interval, and keeps serving the keys it had", async () => {
    const { f, advance } = fetcher();
    const p = policy(server.url);
    await f.getKey(p, "k1", "ES256");
    server.handler = (_q, res) => res.writeHead(500).end();
    advance(6 * 60_000); // expired: a refresh is due, and fails
    expect(await f.getKey(p, "k1", "ES256")).toBeDefined(); // the keys from before still verify
    for (let i = 0; i < 20; i++) await f.getKey(p, "k1", "ES256");
    expect(server.hits).toBe(2);
    advance(5000);
    await f.getKey(p, "k1", "ES256");
    expect(server.hits).toBe(3);

    const fresh = fetcher().f; // never had keys: unavailable, and not hammered either
    expect(await unavailable(fresh.getKey(p, "k1", "ES256"))).toMatch(/HTTP 500/);
    await unavailable(fresh.getKey(p, "k1", "ES256"));
    expect(server.hits).toBe(4);
  });

  it("follows at most maxRedirects redirects, each checked like the first URL", async () => {
    const { f, advance } = fetcher({ maxRedirects: 2 });
    const p = policy(`http://127.0.0.1:${server.port}/start`);
    server.handler = (q, res) => {
      if (q.url === "/start") return res.writeHead(302, { location: "/hop" }).end();
      if (q.url === "/hop") return res.writeHead(307, { location: `http://localhost:${server.port}/jwks` }).end();
      res.writeHead(200).end(JSON.stringify({ keys: [k1.jwk] }));
    };
    expect(await f.getKey(p, "k1", "ES256")).toBeDefined();
    expect(server.hits).toBe(3);

    advance(6 * 60_000);
    server.handler = (q, res) => res.writeHead(302, { location: `/loop${q.url}` }).end();
    expect(await unavailable(f.getKey(policy(`http://127.0.0.1:${server.port}/x`, { issuer: "https://other" }), "k1", "ES256"))).toMatch(/more than 2 redirects/);
    server.handler = (_q, res) => res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" }).end();
    expect(await unavailable(f.getKey(policy(`http://127.0.0.1:${server.port}/y`, { issuer: "https://third" }), "k1", "ES256"))).toMatch(/redirect refused: link-local/);
    server.handler = (_q, res) => res.writeHead(302, { location: "http://10.0.0.8/jwks" }).end();
    expect(await unavailable(f.getKey(policy(`http://127.0.0.1:${server.port}/z`, { issuer: "https://fourth" }), "k1", "ES256"))).toMatch(/redirect refused: private/);
  });

  it("fetches plain http only from loopback and only when allowed; never from private, link-local or metadata addresses", async () => {
    const strict = createJwksFetcher();
    expect(await unavailable(strict.getKey(policy(server.url), "k1", "ES256"))).toMatch(/only https URLs \(plain http to a loopback host needs federation.allowHttpLoopback\)/);
    expect(await unavailable(strict.getKey(policy(`https://127.0.0.1:${server.port}/jwks`), "k1", "ES256"))).toMatch(/loopback address \(set federation.allowHttpLoopback/);
    expect(await unavailable(strict.getKey(policy("https://localhost/jwks"), "k1", "ES256"))).toMatch(/loopback host/);
    for (const url of ["https://10.1.2.3/jwks", "https://192.168.0.1/jwks", "https://[fd00::1]/jwks", "https://169.254.169.254/jwks", "https://[::ffff:172.16.0.1]/jwks"]) {
      expect(await unavailable(strict.getKey(policy(url), "k1", "ES256")), url).toMatch(/URL refused: (private|link-local)/);
    }
    expect(await unavailable(strict.getKey(policy("ftp://issuer.test/jwks"), "k1", "ES256"))).toMatch(/only https/);
    expect(await unavailable(strict.getKey(policy("https://user:pw@issuer.test/jwks"), "k1", "ES256"))).toMatch(/credentials/);

    // Loopback allowed: still no plain http to a public host (the name resolves to a public address here).
    const loose = createJwksFetcher({ allowHttpLoopback: true, resolve: resolveTo("203.0.113.5") });
    const viaName = await unavailable(loose.getKey(policy("http://issuer.example/jwks"), "k1", "ES256"));
    expect(viaName).toMatch(/issuer\.example resolves to a refused address \(plain http only to a loopback address\)/);
    expect(viaName).not.toContain("203.0.113.5"); // what a name resolves to is not told to API callers
    expect(await unavailable(loose.getKey(policy("http://203.0.113.5/jwks", { issuer: "https://other" }), "k1", "ES256"))).toMatch(/URL refused: plain http only to a loopback address/);
    expect(server.hits).toBe(0);
  });

  it("checks every address a name resolves to and connects to the checked one (no second lookup: no rebinding)", async () => {
    // A name resolving to a private address: refused before any connection.
    const priv = createJwksFetcher({ resolve: resolveTo("10.0.0.7") });
    const privMessage = await unavailable(priv.getKey(policy("https://jwks.issuer.test/keys"), "k1", "ES256"));
    expect(privMessage).toMatch(/resolves to a refused address \(private/);
    expect(privMessage).not.toContain("10.0.0.7");
    // One public and one private address: refused too (every address is checked).
    const mixed = createJwksFetcher({ resolve: resolveTo("203.0.113.9", "169.254.169.254") });
    expect(await unavailable(mixed.getKey(policy("https://jwks.issuer.test/keys"), "k1", "ES256"))).toMatch(/resolves to a refused address \(link-local/);
    // Plain http to a name: only if it resolves to loopback, and then the socket goes to the checked address.
    let lookups = 0;
    const loop = createJwksFetcher({
      allowHttpLoopback: true,
      resolve: (h, o, cb) => {
        lookups++;
        resolveTo("127.0.0.1")(h, o, cb);
      },
    });
    expect(await loop.getKey(policy(`http://jwks.issuer.test:${server.port}/jwks`), "k1", "ES256")).toBeDefined();
    expect([lookups, server.hits]).toEqual([1, 1]);
    // The log names the address; the refusal only why.
    const lines: string[] = [];
    const logged = createJwksFetcher({ allowHttpLoopback: true, resolve: resolveTo("127.0.0.1", "10.0.0.2"), log: { warn: (o: object) => void lines.push(JSON.stringify(o)) } as never });
    const lanMessage = await unavailable(logged.getKey(policy(`http://jwks.issuer.test:${server.port}/jwks`, { issuer: "https://lan" }), "k1", "ES256"));
    expect(lanMessage).toMatch(/resolves to a refused address \(private, shared, multicast or reserved address\)/);
    expect(lanMessage).not.toContain("10.0.0.2");
    expect(lines.join("\n")).toContain("10.0.0.2");
    expect(server.hits).toBe(1);
  });

  it("uses an uploaded JWKS as is, without fetching", async () => {
    const f = createJwksFetcher();
    const p = policy("https://never.test/jwks", { jwks: { keys: [k1.jwk, k2.jwk] } });
    expect(await f.getKey(p, "k2", "ES256")).toBeDefined();
    expect(await f.getKey(p, "k3", "ES256")).toBeUndefined();
    expect(f.fetches).toBe(0);
    expect(await unavailable(f.getKey(policy("", { jwksUri: undefined }), "k1", "ES256"))).toMatch(/neither a JWKS URL nor an uploaded JWKS/);
  });
});
