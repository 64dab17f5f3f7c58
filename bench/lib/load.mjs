// Load generator child process: autocannon's API, driven by a spec received over IPC.
//
// One warm-up run (discarded) then one measured run, both with the same connections, pipelining 1
// and keep-alive. Latencies are recorded from autocannon's per-response event with sub-millisecond
// resolution (autocannon's own histogram rounds to whole milliseconds), for every response.
//
// Spec: { url, connections, duration, warmup, request } where request is one of
//   { kind: "static", method, path, headers, body }
//   { kind: "rotate", method, body, variants: [{ path?, headers? }] }   one variant per request, round robin
//   { kind: "cycle", headers, users: [id], pathOf: "secret" }             PUT then DELETE /users/{id}/secret,
//                                                                          each connection on a user no other
//                                                                          connection holds at the time
//   { kind: "exchange", path, headers, scope, mint: { pkcs8, alg, kid, claims, count } }
//                                                                          RFC 8693 token exchange, each request
//                                                                          with a subject token of its own (an
//                                                                          external token is accepted once),
//                                                                          minted before the warm-up
import autocannon from "autocannon";
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import { performance } from "node:perf_hooks";

/** ES256 / RS256 subject tokens with a fresh jti each, minted before any load runs. */
function mintSubjectTokens({ pkcs8, alg, kid, claims, count }) {
  const key = createPrivateKey(pkcs8);
  const header = Buffer.from(JSON.stringify({ alg, kid, typ: "JWT" })).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const payload = Buffer.from(JSON.stringify({ ...claims, iat: now, exp: now + 3600, jti: randomUUID() })).toString("base64url");
    const input = `${header}.${payload}`;
    const sig = alg === "ES256" ? sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }) : sign("sha256", Buffer.from(input), key);
    out[i] = `${input}.${sig.toString("base64url")}`;
  }
  return out;
}

function requestsOf(spec) {
  const r = spec.request;
  if (r.kind === "static") return [{ method: r.method, path: r.path, headers: r.headers, body: r.body }];
  if (r.kind === "rotate") {
    let i = 0;
    const n = r.variants.length;
    return [
      {
        method: r.method,
        path: r.variants[0].path ?? r.path,
        headers: { ...r.headers, ...(r.variants[0].headers ?? {}) },
        body: r.body,
        setupRequest(req) {
          const v = r.variants[i++ % n];
          if (v.path) req.path = v.path;
          if (v.headers) req.headers = { ...r.headers, ...v.headers };
          return req;
        },
      },
    ];
  }
  if (r.kind === "cycle") {
    const free = [...r.users];
    return [
      {
        method: "PUT",
        path: `/management/v1/users/${free[0]}/secret`,
        headers: r.headers,
        body: "{}",
        setupRequest(req, context) {
          const user = free.shift();
          if (user === undefined) throw new Error("cycle: no free user (more connections than users?)");
          context.user = user;
          req.path = `/management/v1/users/${user}/secret`;
          return req;
        },
      },
      {
        method: "DELETE",
        path: `/management/v1/users/${free[0]}/secret`,
        headers: r.headers,
        setupRequest(req, context) {
          req.path = `/management/v1/users/${context.user}/secret`;
          return req;
        },
        onResponse(status, body, context) {
          if (context.user !== undefined) free.push(context.user);
          context.user = undefined;
        },
      },
    ];
  }
  if (r.kind === "exchange") {
    const tokens = mintSubjectTokens(r.mint);
    let next = 0;
    const form = (t) =>
      `grant_type=${encodeURIComponent("urn:ietf:params:oauth:grant-type:token-exchange")}&subject_token_type=${encodeURIComponent("urn:ietf:params:oauth:token-type:jwt")}&scope=${encodeURIComponent(r.scope)}&subject_token=${t}`;
    return [
      {
        method: "POST",
        path: r.path,
        headers: r.headers,
        body: form(tokens[0]),
        setupRequest(req) {
          if (next >= tokens.length) throw new Error(`exchange: all ${tokens.length} subject tokens used (raise mint.count)`);
          req.body = form(tokens[next++]);
          return req;
        },
      },
    ];
  }
  throw new Error(`unknown request kind ${r.kind}`);
}

function run(spec, duration, onResponse) {
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        duration,
        timeout: 30,
        // Diagnostics only (never for a target): a fixed overall request rate.
        ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
        requests: requestsOf(spec),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    if (onResponse) inst.on("response", onResponse);
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

process.on("message", async (spec) => {
  try {
    if (spec.warmup > 0) await run(spec, spec.warmup);
    let lat = new Float64Array(1 << 16);
    let n = 0;
    const codes = {};
    let ok = 0;
    process.send({ type: "measure-start" });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await run(spec, spec.duration, (client, statusCode, resBytes, responseTime) => {
      codes[statusCode] = (codes[statusCode] ?? 0) + 1;
      if (statusCode >= 200 && statusCode < 300) {
        ok++;
        if (n === lat.length) {
          const bigger = new Float64Array(lat.length * 2);
          bigger.set(lat);
          lat = bigger;
        }
        lat[n++] = responseTime;
      }
    });
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    process.send({ type: "measure-end" });
    const sorted = lat.subarray(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i];
    const total = Object.values(codes).reduce((a, b) => a + b, 0);
    process.send({
      type: "result",
      result: {
        elapsed,
        total,
        ok,
        rps: ok / elapsed,
        non2xx: total - ok,
        statusCodes: codes,
        errors: res.errors,
        timeouts: res.timeouts,
        latencyMs: {
          p50: percentile(sorted, 50),
          p90: percentile(sorted, 90),
          p99: percentile(sorted, 99),
          p999: percentile(sorted, 99.9),
          max: n ? sorted[n - 1] : NaN,
          mean: n ? sum / n : NaN,
        },
        loadgenCpuSeconds: (cpu.user + cpu.system) / 1e6,
      },
    });
  } catch (e) {
    process.send({ type: "error", error: String(e?.stack ?? e) });
  }
});
