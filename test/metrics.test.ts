import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { managementClient, rest, tokenRequest } from "./helpers/clients.js";
import { parsePrometheusText, valueOf, type ParsedFamily } from "./helpers/prometheus-text.js";

const API = "openid urn:zitadel:iam:org:project:id:zitadel:aud";
const MGMT = "zitadel.management.v1.ManagementService";

async function scrape(s: TestServer, headers: Record<string, string> = {}): Promise<Map<string, ParsedFamily>> {
  const r = await fetch(`${s.url}/debug/metrics`, { headers });
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parsePrometheusText(await r.text());
}

/** Prometheus metrics at /debug/metrics (ZITADEL's path), in the text format, moving with requests. */
describe("metrics", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage: "postgres", env: { PORTCULLIS_RATE_LIMIT_FAILURES_PER_MINUTE: "3" } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("parses as Prometheus text and counts requests, tokens, failures, limits, caches, pushes, the cluster and the pool", async () => {
    const before = await scrape(s);
    for (const name of [
      "portcullis_requests_total",
      "portcullis_request_duration_seconds",
      "portcullis_token_requests_total",
      "portcullis_authentication_failures_total",
      "portcullis_rate_limit_refusals_total",
      "portcullis_cache_lookups_total",
      "portcullis_event_store_push_duration_seconds",
      "portcullis_event_store_push_events",
      "portcullis_event_store_commit_batch_pushes",
      "portcullis_cluster_barrier_wait_seconds",
      "portcullis_cluster_barrier_timeouts_total",
      "portcullis_cluster_peers",
      "portcullis_db_pool_connections",
      "process_resident_memory_bytes",
    ])
      expect(before.has(name), name).toBe(true);
    const delta = (after: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);

    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "metered", name: "M" } });
    expect(add.status).toBe(200);
    const secret = (await rest(s.url, "PUT", `/management/v1/users/${add.json.userId}/secret`, { token: s.pat })).json.clientSecret as string;
    for (let i = 0; i < 3; i++) expect((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "metered", secret })).status).toBe(200);
    // Wrong secrets until the failure limit answers 429.
    const statuses: number[] = [];
    for (let i = 0; i < 10 && !statuses.includes(429); i++)
      statuses.push((await tokenRequest(s.url, { grant_type: "client_credentials", scope: API }, { id: "metered", secret: "wrong" })).status);
    expect(statuses).toContain(429);
    expect((await rest(s.url, "GET", "/management/v1/orgs/me", { token: "not-a-token" })).status).toBe(401);
    await managementClient(s.url, "grpc", s.pat).getMyOrg({});
    await managementClient(s.url, "connect", s.pat).getMyOrg({});

    const after = await scrape(s);
    const failures = statuses.filter((x) => x === 401).length;
    const refusals = statuses.filter((x) => x === 429).length;
    expect(delta(after, "portcullis_requests_total", { protocol: "rest", service: MGMT, method: "AddMachineUser", code: "OK" })).toBe(1);
    expect(delta(after, "portcullis_requests_total", { protocol: "rest", service: MGMT, method: "GetMyOrg", code: "Unauthenticated" })).toBe(1);
    expect(delta(after, "portcullis_requests_total", { protocol: "grpc", service: MGMT, method: "GetMyOrg", code: "OK" })).toBe(1);
    expect(delta(after, "portcullis_requests_total", { protocol: "connect", service: MGMT, method: "GetMyOrg", code: "OK" })).toBe(1);
    expect(delta(after, "portcullis_requests_total", { protocol: "oauth", service: "oauth", method: "token", code: "200" })).toBe(3);
    expect(delta(after, "portcullis_requests_total", { protocol: "oauth", service: "oauth", method: "token", code: "401" })).toBe(failures);
    expect(delta(after, "portcullis_requests_total", { protocol: "http", method: "metrics", code: "200" })).toBe(1);
    expect(delta(after, "portcullis_request_duration_seconds_count", { protocol: "oauth", method: "token" })).toBe(3 + statuses.length);
    expect(delta(after, "portcullis_request_duration_seconds_bucket", { protocol: "grpc", method: "GetMyOrg", le: "+Inf" })).toBe(1);

    expect(delta(after, "portcullis_token_requests_total", { grant_type: "client_credentials", result: "issued" })).toBe(3);
    expect(delta(after, "portcullis_token_requests_total", { grant_type: "client_credentials", result: "invalid_client" })).toBe(failures);
    expect(delta(after, "portcullis_token_requests_total", { grant_type: "client_credentials", result: "too_many_requests" })).toBe(refusals);
    // Every wrong secret is a failed authentication, also the one answered 429.
    expect(delta(after, "portcullis_authentication_failures_total", { endpoint: "oauth" })).toBe(statuses.length);
    expect(delta(after, "portcullis_authentication_failures_total", { endpoint: "api" })).toBe(1);
    expect(delta(after, "portcullis_rate_limit_refusals_total")).toBe(refusals);

    // Hits once the new process trusts its cache (3 s after joining the cluster), until then untrusted reads.
    expect(delta(after, "portcullis_cache_lookups_total", { cache: "decision" })).toBeGreaterThanOrEqual(3 + statuses.length);
    expect(delta(after, "portcullis_cache_lookups_total", { cache: "aggregate" })).toBeGreaterThanOrEqual(1);
    expect(delta(after, "portcullis_event_store_push_duration_seconds_count")).toBeGreaterThanOrEqual(2);
    expect(delta(after, "portcullis_event_store_push_events_count")).toBeGreaterThanOrEqual(2);
    expect(delta(after, "portcullis_event_store_commit_batch_pushes_count")).toBeGreaterThanOrEqual(1);
    expect(delta(after, "portcullis_cluster_barrier_wait_seconds_count")).toBe(0); // alone: no peer to wait for
    expect(valueOf(after, "portcullis_cluster_peers")).toBe(1);
    expect(valueOf(after, "portcullis_db_pool_connections", { state: "max" })).toBe(10);
    expect(valueOf(after, "portcullis_db_pool_connections", { state: "open" })).toBeGreaterThanOrEqual(1);
    // No secret or token ever appears in a label.
    const text = await (await fetch(`${s.url}/debug/metrics`)).text();
    expect(text.includes(secret)).toBe(false);
    expect(text.includes(s.pat)).toBe(false);
  });

  it("puts no caller-chosen grant type or path in a label", async () => {
    await tokenRequest(s.url, { grant_type: "urn:x:made-up", scope: API }, { id: "metered", secret: "x" });
    await fetch(`${s.url}/some/unknown/path`);
    const text = await (await fetch(`${s.url}/debug/metrics`)).text();
    expect(text).not.toContain("made-up");
    expect(text).not.toContain("unknown/path");
    expect(valueOf(parsePrometheusText(text), "portcullis_token_requests_total", { grant_type: "other" })).toBe(1);
  });
});

describe("metrics settings", () => {
  let guarded: TestServer;
  let off: TestServer;
  beforeAll(async () => {
    [guarded, off] = await Promise.all([
      startTestServer({ env: { PORTCULLIS_METRICS_TOKEN: "scrape-token-0123456789" } }),
      startTestServer({ env: { PORTCULLIS_METRICS_ENABLED: "false" } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([guarded?.close(), off?.close()]);
  });

  it("with metrics.token, answers only that bearer token", async () => {
    expect((await fetch(`${guarded.url}/debug/metrics`)).status).toBe(401);
    const wrong = await fetch(`${guarded.url}/debug/metrics`, { headers: { authorization: "Bearer scrape-token-012345678X" } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    const families = await scrape(guarded, { authorization: "Bearer scrape-token-0123456789" });
    expect(valueOf(families, "portcullis_cluster_peers")).toBe(1);
    expect(families.has("portcullis_db_pool_connections")).toBe(true);
    expect(valueOf(families, "portcullis_db_pool_connections")).toBe(0); // embedded store: no pool
  });

  it("with metrics.enabled false, there is no endpoint", async () => {
    expect((await fetch(`${off.url}/debug/metrics`)).status).toBe(404);
    expect(off.rt.deps.metrics.registry).toBeUndefined();
  });
});

describe("metrics: credentials expiring within 7 days", () => {
  let s: TestServer;
  let offsetMs = 0;
  beforeAll(async () => {
    s = await startTestServer({ clock: () => new Date(Date.now() + offsetMs) });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("counts live PATs, keys and secrets by kind, recounted when a scrape finds the count a minute old", async () => {
    const expiring = async () => {
      const m = await scrape(s);
      return ["secret", "key", "pat"].map((kind) => valueOf(m, "portcullis_credentials_expiring_7d", { kind }));
    };
    const base = await expiring();
    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "expiring", name: "E" } });
    const userId = add.json.userId as string;
    const inDays = (d: number) => new Date(Date.now() + offsetMs + d * 86_400_000).toISOString();
    expect((await rest(s.url, "POST", `/management/v1/users/${userId}/pats`, { token: s.pat, body: { expirationDate: inDays(3) } })).status).toBe(200);
    expect((await rest(s.url, "POST", `/management/v1/users/${userId}/pats`, { token: s.pat, body: { expirationDate: inDays(30) } })).status).toBe(200);
    expect((await rest(s.url, "POST", `/management/v1/users/${userId}/keys`, { token: s.pat, body: { type: "KEY_TYPE_JSON", expirationDate: inDays(6) } })).status).toBe(200);
    // Not recounted yet: a scrape never waits for the database.
    expect(await expiring()).toEqual(base);
    offsetMs += 61_000;
    await expiring(); // starts the recount
    await expect.poll(expiring, { timeout: 5000 }).toEqual([base[0]!, base[1]! + 1, base[2]! + 1]);
  });
});
