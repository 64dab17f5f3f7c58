import { createHash, type KeyObject } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { refusedAddress } from "../app/webhooks/address.js";
import { JwksUnavailableError, type KeySource } from "../crypto/external-jwt.js";
import { hasKid, importJwks, selectKey, type ImportedKey } from "../crypto/jwks.js";
import type { FederationAlgorithm, TrustPolicy } from "../domain/federation/types.js";
import { guardedLookup, type Resolver } from "./guarded-lookup.js";

/**
 * The KeySource of workload identity federation: a policy's uploaded JWKS as is, or its `jwksUri`
 * fetched and cached.
 *
 * The fetch: https only (http only to a loopback host, and loopback at all only with
 * `allowHttpLoopback`); never to a private, shared, link-local, multicast or reserved address
 * (every address the name resolves to is checked, and the socket connects to the checked one);
 * at most `maxBytes`, all within `timeoutMs`, at most `maxRedirects` redirects, each checked as the
 * first URL; only a 200 with a JWKS counts.
 *
 * The cache, per issuer + URL: kept for the answer's Cache-Control max-age, bounded to
 * [minTtlMs, maxTtlMs] (defaultTtlMs without one). An unknown kid refreshes it, at most once per
 * `refreshIntervalMs` per issuer + URL; concurrent misses wait for the same fetch. A failed fetch is not
 * retried for `refreshIntervalMs` either, and until then (and for `maxStaleMs` after expiry) the
 * keys fetched before keep serving: an issuer that is briefly down breaks nothing, a storm of
 * tokens cannot turn into a storm of fetches.
 *
 * Logs name the issuer and URL, never a token.
 */

export interface JwksFetcherOptions {
  /** Proposed config key federation.allowHttpLoopback (default false; tests and development). */
  allowHttpLoopback?: boolean;
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
  defaultTtlMs?: number;
  minTtlMs?: number;
  maxTtlMs?: number;
  refreshIntervalMs?: number;
  maxStaleMs?: number;
  maxEntries?: number;
  /** Milliseconds since the epoch (tests move it). */
  clock?: () => number;
  /** DNS resolution (tests pass a fake one; default dns.lookup). */
  resolve?: Resolver;
  log?: { warn(obj: object, msg: string): void };
}

export interface JwksFetcher extends KeySource {
  /** How many fetches were started (for tests and metrics). */
  readonly fetches: number;
}

export const JWKS_DEFAULTS = {
  timeoutMs: 5000,
  maxBytes: 64 * 1024,
  maxRedirects: 3,
  defaultTtlMs: 5 * 60_000,
  minTtlMs: 60_000,
  maxTtlMs: 24 * 3600_000,
  refreshIntervalMs: 5000,
  maxStaleMs: 24 * 3600_000,
  maxEntries: 1000,
};

const LOOPBACK_SETTING = "federation.allowHttpLoopback";

interface Entry {
  keys?: ImportedKey[];
  expiresAt: number;
  lastAttempt: number;
  lastError?: string;
  inflight?: Promise<void>;
}

interface Fetched {
  doc: unknown;
  maxAgeS?: number;
}

class FetchRefused extends Error {}

/** Cache-Control max-age in seconds; 0 for no-store / no-cache; undefined without either. */
export function maxAgeOf(cacheControl: string | undefined): number | undefined {
  if (!cacheControl) return undefined;
  if (/(^|[\s,])(no-store|no-cache)([\s,=]|$)/i.test(cacheControl)) return 0;
  const m = /(?:^|[\s,])max-age\s*=\s*"?(\d{1,10})"?/i.exec(cacheControl);
  return m ? Number(m[1]) : undefined;
}

export function createJwksFetcher(options: JwksFetcherOptions = {}): JwksFetcher {
  const o = { ...JWKS_DEFAULTS, ...options };
  const allowLoopback = o.allowHttpLoopback === true;
  const clock = o.clock ?? Date.now;
  const entries = new Map<string, Entry>();
  const lastMissRefresh = new Map<string, number>();
  const uploaded = new Map<string, ImportedKey[]>();
  const uploadedByObject = new WeakMap<object, ImportedKey[]>();
  let fetches = 0;

  const isLoopback = (ip: string) => refusedAddress(ip, false) !== undefined && refusedAddress(ip, true) === undefined;
  const refuseIp = (ip: string, http: boolean): string | undefined => {
    const why = refusedAddress(ip, allowLoopback, { publicOnly: true, loopbackSetting: LOOPBACK_SETTING });
    if (why) return why;
    return http && !isLoopback(ip) ? "plain http only to a loopback address" : undefined;
  };
  const lookups = {
    https: guardedLookup({ refuse: (ip) => refuseIp(ip, false), every: true, code: "EJWKSADDR", what: "JWKS", ...(o.resolve ? { resolve: o.resolve } : {}) }),
    http: guardedLookup({ refuse: (ip) => refuseIp(ip, true), every: true, code: "EJWKSADDR", what: "JWKS", ...(o.resolve ? { resolve: o.resolve } : {}) }),
  };

  /** Why this URL may not be fetched, or undefined when it may (its host's addresses are checked at connect). */
  function refusedJwksUrl(u: URL): string | undefined {
    if (u.protocol !== "https:" && u.protocol !== "http:") return "only https URLs";
    if (u.username || u.password) return "credentials in the URL";
    const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
    if (!host) return "no host";
    const plain = u.protocol === "http:";
    if (plain && !allowLoopback) return `only https URLs (plain http to a loopback host needs ${LOOPBACK_SETTING})`;
    if (isIP(host)) return refuseIp(host, plain);
    if (/^localhost\.?$/i.test(host)) return allowLoopback ? undefined : `loopback host (set ${LOOPBACK_SETTING} for development)`;
    return undefined;
  }

  function get(u: URL, deadline: number): Promise<{ status: number; location?: string; body?: Buffer; cacheControl?: string }> {
    return new Promise((resolveOnce, rejectOnce) => {
      let settled = false;
      const resolve: typeof resolveOnce = (v) => void (settled || ((settled = true), resolveOnce(v)));
      const reject = (e: Error) => void (settled || ((settled = true), rejectOnce(e)));
      const refuse = (why: string) => {
        reject(new FetchRefused(why));
        req.destroy();
      };
      const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
      const plain = u.protocol === "http:";
      const left = Math.max(1, deadline - Date.now());
      const req = (plain ? http : https).request(u, {
        method: "GET",
        agent: false,
        timeout: left,
        headers: { accept: "application/jwk-set+json, application/json", "user-agent": "Portcullis-Federation/1" },
        ...(isIP(host) ? {} : { lookup: (plain ? lookups.http : lookups.https) as never }),
      });
      const timer = setTimeout(() => refuse(`no complete answer within ${o.timeoutMs} ms`), left);
      req.on("close", () => clearTimeout(timer));
      req.on("timeout", () => refuse(`no complete answer within ${o.timeoutMs} ms`));
      req.on("error", (e) => reject(e));
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        const cacheControl = res.headers["cache-control"];
        if (status !== 200) {
          res.resume();
          return resolve({ status, ...(res.headers.location ? { location: res.headers.location } : {}) });
        }
        const declared = Number(res.headers["content-length"] ?? 0);
        if (declared > o.maxBytes) return refuse(`JWKS larger than ${o.maxBytes} bytes`);
        const chunks: Buffer[] = [];
        let read = 0;
        res.on("data", (c: Buffer) => {
          read += c.length;
          if (read > o.maxBytes) return refuse(`JWKS larger than ${o.maxBytes} bytes`);
          chunks.push(c);
        });
        res.on("error", (e) => reject(e));
        res.on("end", () => resolve({ status, body: Buffer.concat(chunks), ...(cacheControl ? { cacheControl } : {}) }));
      });
      req.end();
    });
  }

  /** One fetch of a JWKS URL, following at most maxRedirects redirects, each checked again. */
  async function fetchJwks(raw: string): Promise<Fetched> {
    const deadline = Date.now() + o.timeoutMs;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new FetchRefused("not a URL");
    }
    for (let hop = 0; ; hop++) {
      const why = refusedJwksUrl(u);
      if (why) throw new FetchRefused(`${hop ? "redirect refused" : "URL refused"}: ${why}`);
      const r = await get(u, deadline);
      if ([301, 302, 303, 307, 308].includes(r.status) && r.location !== undefined) {
        if (hop >= o.maxRedirects) throw new FetchRefused(`more than ${o.maxRedirects} redirects`);
        try {
          u = new URL(r.location, u);
        } catch {
          throw new FetchRefused("redirect to something that is not a URL");
        }
        continue;
      }
      if (r.status !== 200) throw new FetchRefused(`HTTP ${r.status}`);
      let doc: unknown;
      try {
        doc = JSON.parse(r.body!.toString("utf8"));
      } catch {
        throw new FetchRefused("the answer is not JSON");
      }
      const maxAgeS = maxAgeOf(r.cacheControl);
      return { doc, ...(maxAgeS !== undefined ? { maxAgeS } : {}) };
    }
  }

  /** Fetches into the entry (one fetch at a time per entry; concurrent callers share it). */
  function refresh(key: string, e: Entry, issuer: string, uri: string): Promise<void> {
    if (e.inflight) return e.inflight;
    e.lastAttempt = clock();
    fetches++;
    e.inflight = (async () => {
      try {
        const { doc, maxAgeS } = await fetchJwks(uri);
        const imported = importJwks(doc);
        if ("error" in imported) throw new FetchRefused(imported.error);
        if (imported.keys.length === 0) throw new FetchRefused(`no usable key (${imported.skipped.slice(0, 3).join("; ")})`);
        const ttl = Math.min(o.maxTtlMs, Math.max(o.minTtlMs, maxAgeS !== undefined ? maxAgeS * 1000 : o.defaultTtlMs));
        e.keys = imported.keys;
        e.expiresAt = clock() + ttl;
        delete e.lastError;
      } catch (err) {
        // The log gets the whole message; refusals (shown by the dry run) get it without a resolved address.
        o.log?.warn({ issuer, jwksUri: uri, err: (err as Error).message }, "federation JWKS fetch failed");
        e.lastError = (err as { publicMessage?: string }).publicMessage ?? (err as Error).message;
      } finally {
        delete e.inflight;
      }
    })();
    if (!entries.has(key)) {
      if (entries.size >= o.maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(key, e);
    }
    return e.inflight;
  }

  /** The keys of an uploaded JWKS: by object while the caller keeps the same one, else by content. */
  function uploadedKeys(policy: TrustPolicy, jwks: NonNullable<TrustPolicy["jwks"]>): ImportedKey[] {
    const same = uploadedByObject.get(jwks);
    if (same) return same;
    const id = createHash("sha256").update(JSON.stringify(jwks)).digest("base64url");
    let keys = uploaded.get(id);
    if (!keys) {
      const imported = importJwks(jwks);
      if ("error" in imported) throw new JwksUnavailableError(`the uploaded JWKS of policy ${policy.id} is unusable: ${imported.error}`);
      keys = imported.keys;
      if (uploaded.size >= o.maxEntries) uploaded.delete(uploaded.keys().next().value!);
      uploaded.set(id, keys);
    }
    uploadedByObject.set(jwks, keys);
    return keys;
  }

  async function getKey(policy: TrustPolicy, kid: string | undefined, alg: FederationAlgorithm): Promise<KeyObject | undefined> {
    if (policy.jwks) return selectKey(uploadedKeys(policy, policy.jwks), kid, alg);
    const uri = policy.jwksUri;
    if (!uri) throw new JwksUnavailableError(`policy ${policy.id} has neither a JWKS URL nor an uploaded JWKS`);
    const key = `${policy.issuer}\n${uri}`;
    const e = entries.get(key) ?? { expiresAt: 0, lastAttempt: -Infinity };
    const retryDue = () => e.inflight !== undefined || e.lastError === undefined || clock() - e.lastAttempt >= o.refreshIntervalMs;

    if (clock() >= e.expiresAt && retryDue()) await refresh(key, e, policy.issuer, uri);
    const usable = () => e.keys !== undefined && clock() < e.expiresAt + o.maxStaleMs;
    if (!usable()) throw new JwksUnavailableError(`the JWKS at ${uri} could not be fetched: ${e.lastError ?? "no keys"}`);

    const found = selectKey(e.keys!, kid, alg);
    if (found || hasKid(e.keys!, kid)) return found;
    // An unknown kid: the issuer may have rotated its keys. One refresh per interval per issuer and
    // JWKS URL (and none right after this entry was fetched anyway). Per URL, not per issuer: misses
    // forged against one policy's URL must not hold back another URL's refresh after a rotation.
    if (!e.inflight) {
      const last = Math.max(lastMissRefresh.get(key) ?? -Infinity, e.lastAttempt);
      if (clock() - last < o.refreshIntervalMs) return undefined;
      lastMissRefresh.set(key, clock());
      if (lastMissRefresh.size > o.maxEntries) lastMissRefresh.delete(lastMissRefresh.keys().next().value!);
    }
    await refresh(key, e, policy.issuer, uri);
    return usable() ? selectKey(e.keys!, kid, alg) : undefined;
  }

  return {
    getKey,
    get fetches() {
      return fetches;
    },
  };
}
