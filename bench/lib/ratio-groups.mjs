// The servers and series of the ratio groups (bench/lib/ratios.mjs), shared by `npm run bench` and
// `npm run bench:check`. `record(label, base, request, opts)` measures one HTTP series and returns
// the load result; bounds (signing, inserts) run in their own child process.
import { generateKeyPairSync, sign } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { api, appIntrospection, basicAuth, bearerGet, fetchToken, startPortcullis, tokenRequest, TOKEN_SCOPE } from "./portcullis.mjs";
import { runChild, settings } from "./runner.mjs";
import { freePort, log, removeTempDir, spawnNode, stopChild, tempDir, waitHttp } from "./util.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

async function inChunks(items, size, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

const scoped = (clientId, secret, scope) => ({ ...tokenRequest(clientId, secret), body: `grant_type=client_credentials&scope=${encodeURIComponent(scope)}` });

/** A bare node:http server answering a token-shaped body (`burnUs`: extra CPU per request). */
export async function startRaw(tokenLength, nodeArgs = [], burnUs = 0) {
  const port = await freePort();
  const child = spawnNode([path.join(here, "..", "servers", "raw-http.mjs")], { name: "raw-http", nodeArgs, env: { PORT: String(port), TOKEN_LENGTH: String(tokenLength), BURN_US: String(burnUs) } });
  await waitHttp(`http://127.0.0.1:${port}/`, { child });
  return { base: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => stopChild(child) };
}

/** oidc-provider, client_credentials, opaque, client_secret_basic, in-memory adapter. */
export async function startOidc(secret) {
  const port = await freePort();
  const op = spawnNode([path.join(here, "..", "servers", "oidc-provider.mjs")], { name: "oidc-provider", env: { PORT: String(port), CLIENT_ID: "bench-opaque", CLIENT_SECRET: secret } });
  await waitHttp(`http://127.0.0.1:${port}/.well-known/openid-configuration`, { child: op });
  const request = {
    kind: "static",
    method: "POST",
    path: "/token",
    headers: { authorization: basicAuth("bench-opaque", secret), "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials&scope=api",
  };
  return { base: `http://127.0.0.1:${port}`, pid: op.pid, request, stop: () => stopChild(op) };
}

/** A Portcullis on PGlite with one machine and its secret (the last-use-off and metrics-off servers). */
async function startSide(name, env) {
  const dataDir = tempDir(name);
  const srv = await startPortcullis({ dataDir, name, env });
  const a = api(srv.base, srv.pat);
  const { clientId, clientSecret } = await a.setSecret(await a.addMachine(`bench-${name}`));
  await fetchToken(srv.base, clientId, clientSecret);
  return { ...srv, request: tokenRequest(clientId, clientSecret), stop: async () => (await srv.stop(), removeTempDir(dataDir)) };
}

/**
 * The main Portcullis on PGlite and what the groups ask of it: an opaque and a JWT client, a PAT,
 * an API app's introspection, a machine with user grants on 3 projects × 10 roles (projectRoleCheck),
 * a machine holding 10 secrets, and `writeUsers` machines for the write cycles.
 */
export async function setupMain({ writeUsers = 100 } = {}) {
  const dataDir = tempDir("pglite");
  log("starting Portcullis on PGlite (first start: migrations, bootstrap, signing key)");
  const srv = await startPortcullis({ dataDir, name: "portcullis-pglite" });
  const a = api(srv.base, srv.pat);
  const opaque = await a.setSecret(await a.addMachine("bench-opaque"));
  const jwtId = await a.addMachine("bench-jwt");
  await a.useJwt(jwtId, "bench-jwt");
  const jwt = await a.setSecret(jwtId);
  const exchange = await federate(srv.base, a, jwtId);
  const patUserId = await a.addMachine("bench-pat");
  const pat = (await a.addPat(patUserId)).token;
  const staleId = await a.addMachine("bench-stale");
  const writes = await inChunks(Array.from({ length: writeUsers }, (_, i) => `bench-write-${i}`), 10, (n) => a.addMachine(n));
  // Role claims (issue #13).
  const holderId = await a.addMachine("bench-roles");
  const holder = await a.setSecret(holderId);
  const projects = [];
  for (let p = 0; p < 3; p++) {
    const { id } = await a.call("POST", "/management/v1/projects", { name: `roles-bench-${p}`, projectRoleCheck: true });
    const keys = Array.from({ length: 10 }, (_, k) => `role.${p}.${k}`);
    await a.call("POST", `/management/v1/projects/${id}/roles/_bulk`, { roles: keys.map((key) => ({ key, displayName: key })) });
    await a.call("POST", `/management/v1/users/${holderId}/grants`, { projectId: id, roleKeys: keys });
    projects.push(id);
  }
  const roleScope = `${TOKEN_SCOPE} ${projects.map((p) => `urn:zitadel:iam:org:project:id:${p}:aud`).join(" ")} urn:zitadel:iam:org:projects:roles`;
  // Several secrets per machine: 10, authenticating with the newest.
  const tenId = await a.addMachine("bench-ten-secrets");
  let ten;
  for (let i = 0; i < 10; i++) ten = await a.call("POST", `/portcullis/v1/users/${tenId}/secrets`, { description: `s${i}` });
  const sampleOpaque = await fetchToken(srv.base, opaque.clientId, opaque.clientSecret);
  const sampleJwt = await fetchToken(srv.base, jwt.clientId, jwt.clientSecret);
  const requests = {
    opaque: tokenRequest(opaque.clientId, opaque.clientSecret),
    jwt: tokenRequest(jwt.clientId, jwt.clientSecret),
    userinfo: bearerGet("/oidc/v1/userinfo", pat),
    getuser: bearerGet(`/management/v1/users/${patUserId}`, srv.pat),
    "introspect-app": await appIntrospection(srv.base, srv.pat, opaque.clientId, opaque.clientSecret),
    roles: scoped(holder.clientId, holder.clientSecret, roleScope),
    "ten-secrets": tokenRequest(ten.clientId, ten.clientSecret),
    exchange,
    cycles: { kind: "cycle", headers: { authorization: `Bearer ${srv.pat}`, "content-type": "application/json" }, users: writes },
  };
  // Sanity: the role claims are there.
  const intro = await fetch(`${srv.base}/oauth/v2/token`, { method: "POST", headers: requests.roles.headers, body: requests.roles.body });
  if (intro.status !== 200) throw new Error(`role-claims token → ${intro.status}`);
  await fetchToken(srv.base, ten.clientId, ten.clientSecret);
  return {
    dataDir,
    srv,
    opaque,
    pat,
    patUserId,
    staleId,
    requests,
    tokenLength: sampleOpaque.json.access_token.length,
    jwtClaims: JSON.parse(Buffer.from(sampleJwt.json.access_token.split(".")[1], "base64url")),
    jwtKid: JSON.parse(Buffer.from(sampleJwt.json.access_token.split(".")[0], "base64url")).kid,
  };
}

/**
 * Workload federation (issue #16) for the JWT machine: a trust policy with an uploaded ES256 JWKS (no
 * fetch on the token path, as with a cached JWKS) and a binding by subject. Returns the load
 * generator's "exchange" request: RFC 8693 token exchange, each request with a subject token of its
 * own, minted by the load generator before its run (an external token is accepted once).
 */
export async function federate(base, a, userId) {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const kid = "bench-idp";
  const claims = { iss: "https://idp.bench.example", sub: "system:serviceaccount:bench:api", aud: "portcullis-bench" };
  const { policyId } = await a.call("POST", "/portcullis/v1/federation/policies", {
    policy: { name: "bench-idp", issuer: claims.iss, jwks: JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" }] }), audiences: [claims.aud], algorithms: ["ES256"] },
  });
  await a.call("POST", `/portcullis/v1/users/${userId}/federation/bindings`, { policyId, subject: claims.sub });
  const pkcs8 = privateKey.export({ format: "pem", type: "pkcs8" });
  // Generous: more subject tokens than any run of warm-up + measurement could spend.
  const count = Math.ceil((settings.warmup + settings.duration) * 6000);
  const request = { kind: "exchange", path: "/oauth/v2/token", headers: { "content-type": "application/x-www-form-urlencoded" }, scope: TOKEN_SCOPE, mint: { pkcs8, alg: "ES256", kid, claims, count } };
  // Sanity: one exchange answers a JWT access token.
  const now = Math.floor(Date.now() / 1000);
  const input = `${Buffer.from(JSON.stringify({ alg: "ES256", kid, typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify({ ...claims, iat: now, exp: now + 600, jti: "bench-sanity" })).toString("base64url")}`;
  const subject = `${input}.${sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
  const body = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", subject_token_type: "urn:ietf:params:oauth:token-type:jwt", subject_token: subject, scope: TOKEN_SCOPE });
  const r = await fetch(`${base}/oauth/v2/token`, { method: "POST", headers: request.headers, body });
  const json = await r.json();
  if (r.status !== 200 || json.access_token?.split(".").length !== 3) throw new Error(`token exchange → ${r.status} ${JSON.stringify(json)}`);
  return request;
}

const http = (record, key, base, request, pids) => ({ key, run: (label) => record(label, base, request, { serverPids: pids }) });

/** Runs `fn(group)` with the group's extra servers up, and stops them whatever happens. */
async function withServers(starts, fn) {
  const up = [];
  try {
    for (const s of starts) up.push(await s());
    return await fn(up);
  } finally {
    for (const s of up) await s.stop();
  }
}

/**
 * The token group: opaque (the A of most pairs), an API app's introspection, role claims, 10
 * secrets, against the raw ceiling (POST), oidc-provider, a server with last-use tracking off and
 * one with metrics off. `full: false` leaves out the side servers (bench:check).
 */
export function tokenGroup(ctx, record, measure, { full = true } = {}) {
  const starts = [() => startRaw(ctx.tokenLength), () => startOidc(ctx.opaque.clientSecret)];
  if (full) starts.push(() => startSide("untracked", { PORTCULLIS_CREDENTIALS_TRACK_LAST_USED: "false" }), () => startSide("metrics-off", { PORTCULLIS_METRICS_ENABLED: "false" }));
  return withServers(starts, ([raw, oidc, untracked, metricsOff]) => {
    const p = [ctx.srv.pid];
    const series = [
      http(record, "roles", ctx.srv.base, ctx.requests.roles, p),
      http(record, "ten-secrets", ctx.srv.base, ctx.requests["ten-secrets"], p),
      http(record, "opaque", ctx.srv.base, ctx.requests.opaque, p),
      http(record, "introspect-app", ctx.srv.base, ctx.requests["introspect-app"], p),
      http(record, "raw-post", raw.base, ctx.requests.opaque, [raw.pid]),
      http(record, "oidc-provider", oidc.base, oidc.request, [oidc.pid]),
    ];
    if (untracked) series.push(http(record, "untracked", untracked.base, untracked.request, [untracked.pid]));
    if (metricsOff) series.push(http(record, "metrics-off", metricsOff.base, metricsOff.request, [metricsOff.pid]));
    return measure({ name: "token", series });
  });
}

/** The read group: userinfo and GetUserByID against the raw ceiling (GET). */
export function readsGroup(ctx, record, measure) {
  return withServers([() => startRaw(ctx.tokenLength)], ([raw]) =>
    measure({
      name: "reads",
      series: [
        http(record, "userinfo", ctx.srv.base, ctx.requests.userinfo, [ctx.srv.pid]),
        http(record, "getuser", ctx.srv.base, ctx.requests.getuser, [ctx.srv.pid]),
        http(record, "raw-get", raw.base, ctx.requests.userinfo, [raw.pid]),
      ],
    }),
  );
}

/** A bound's result as a series result: operations per second as `rps`. */
const bound = (key, script, spec, field) => ({
  key,
  run: async (label) => {
    log(`measure ${label} (${script}) ...`);
    const r = await runChild(script, spec);
    log(`  ${label}: ${Math.round(r[field])}/s`);
    return { ...r, rps: r[field] };
  },
});

/** The JWT group: the RS256 token against node:crypto signing the same claims in 1 process. */
export function jwtGroup(ctx, record, measure) {
  const spec = { claims: ctx.jwtClaims, kid: ctx.jwtKid, seconds: settings.duration, warmup: 1 };
  return measure({ name: "jwt", series: [http(record, "jwt", ctx.srv.base, ctx.requests.jwt, [ctx.srv.pid]), bound("sign-rs256", "sign-bound.mjs", spec, "perSecond")] });
}

/**
 * Token exchange (issue #16): RFC 8693 with an ES256 subject token for a JWT machine (verify ES256,
 * spend the jti, sign RS256) against node:crypto verifying ES256 and signing RS256 in 1 process.
 */
export function exchangeGroup(ctx, record, measure) {
  const spec = { claims: ctx.jwtClaims, kid: ctx.jwtKid, seconds: settings.duration, warmup: 1, verifyAlg: "ES256" };
  return measure({ name: "exchange", series: [http(record, "token-exchange", ctx.srv.base, ctx.requests.exchange, [ctx.srv.pid]), bound("verify-sign", "verify-sign-bound.mjs", spec, "perSecond")] });
}

/** Embedded writes: secret cycles (PUT then DELETE the secret) against BEGIN; INSERT; COMMIT on PGlite. */
export async function pgliteWritesGroup(ctx, record, measure) {
  const dir = tempDir("pglite-bound");
  try {
    const spec = { kind: "pglite", dir, concurrency: settings.connections, duration: settings.duration, warmup: settings.warmup };
    return await measure({ name: "pglite-writes", series: [http(record, "cycles", ctx.srv.base, ctx.requests.cycles, [ctx.srv.pid]), bound("insert-bound", "insert-bound.mjs", spec, "tps")] });
  } finally {
    removeTempDir(dir);
  }
}

/** PostgreSQL writes: secret cycles against BEGIN; INSERT; COMMIT over a pool of 10 on the same database. */
export function pgWritesGroup({ srv, db, cycle }, record, measure) {
  const spec = { kind: "pg", url: db.url, poolSize: 10, concurrency: settings.connections, duration: settings.duration, warmup: settings.warmup };
  return measure({
    name: "pg-writes",
    series: [{ key: "cycles", run: (label) => record(label, srv.base, cycle, { serverPids: [srv.pid], dbName: db.name }) }, bound("insert-bound", "insert-bound.mjs", spec, "tps")],
  });
}
