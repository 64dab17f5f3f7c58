// Role claims on the token path (issue #13): a client_credentials token for a machine holding user
// grants on 3 projects with 10 roles each (projects with projectRoleCheck, so the grants are read on
// every request), asking for the 3 audiences and urn:zitadel:iam:org:projects:roles, against the
// plain opaque token of the same run. Target: ≥ 80 %. The JWT pair (role claims signed into the
// access token) is shown for information.
//
//   npm run build && node bench/roles.mjs [--duration S]
import { api, basicAuth, startPortcullis, tokenRequest, TOKEN_SCOPE } from "./lib/portcullis.mjs";
import { measure, settings, summary } from "./lib/runner.mjs";
import { cleanupAll, log, tempDir } from "./lib/util.mjs";

const i = process.argv.indexOf("--duration");
settings.duration = i > 0 ? Number(process.argv[i + 1]) : 10;
settings.warmup = 3;

const scoped = (clientId, secret, scope) => ({ ...tokenRequest(clientId, secret), body: `grant_type=client_credentials&scope=${encodeURIComponent(scope)}` });

async function main() {
  const srv = await startPortcullis({ dataDir: tempDir("roles"), name: "portcullis-roles" });
  const a = api(srv.base, srv.pat);
  const plainId = await a.addMachine("roles-plain");
  const plain = await a.setSecret(plainId);
  const holderId = await a.addMachine("roles-holder");
  const holder = await a.setSecret(holderId);
  const jwtPlainId = await a.addMachine("roles-jwt-plain");
  await a.useJwt(jwtPlainId, "roles-jwt-plain");
  const jwtPlain = await a.setSecret(jwtPlainId);
  const jwtHolderId = await a.addMachine("roles-jwt-holder");
  await a.useJwt(jwtHolderId, "roles-jwt-holder");
  const jwtHolder = await a.setSecret(jwtHolderId);
  const projects = [];
  for (let p = 0; p < 3; p++) {
    const { id } = await a.call("POST", "/management/v1/projects", { name: `roles-bench-${p}`, projectRoleCheck: true });
    const keys = Array.from({ length: 10 }, (_, k) => `role.${p}.${k}`);
    await a.call("POST", `/management/v1/projects/${id}/roles/_bulk`, { roles: keys.map((key) => ({ key, displayName: key })) });
    for (const user of [holderId, jwtHolderId]) await a.call("POST", `/management/v1/users/${user}/grants`, { projectId: id, roleKeys: keys });
    projects.push(id);
  }
  const scope = `${TOKEN_SCOPE} ${projects.map((p) => `urn:zitadel:iam:org:project:id:${p}:aud`).join(" ")} urn:zitadel:iam:org:projects:roles`;
  // Sanity: the role claims are there (introspection of the opaque token, the JWT's payload).
  const t = await (await fetch(`${srv.base}/oauth/v2/token`, { method: "POST", headers: { authorization: basicAuth(jwtHolder.clientId, jwtHolder.clientSecret), "content-type": "application/x-www-form-urlencoded" }, body: `grant_type=client_credentials&scope=${encodeURIComponent(scope)}` })).json();
  const claims = JSON.parse(Buffer.from(t.access_token.split(".")[1], "base64url").toString());
  if (Object.keys(claims[`urn:zitadel:iam:org:project:${projects[0]}:roles`] ?? {}).length !== 10) throw new Error("role claims missing: " + JSON.stringify(claims));

  const runs = {
    "opaque plain": tokenRequest(plain.clientId, plain.clientSecret),
    "opaque with role scopes (3 projects × 10 roles)": scoped(holder.clientId, holder.clientSecret, scope),
    "jwt plain": tokenRequest(jwtPlain.clientId, jwtPlain.clientSecret),
    "jwt with role claims (3 projects × 10 roles)": scoped(jwtHolder.clientId, jwtHolder.clientSecret, scope),
  };
  const r = {};
  for (const [name, req] of Object.entries(runs)) {
    r[name] = await measure(srv.base, req, { serverPids: [srv.pid] });
    log(`${name}: ${summary(r[name])}`);
  }
  await srv.stop();
  const ratio = (a, b) => `${Math.round((100 * r[a].rps) / r[b].rps)} %`;
  log(`role claims vs plain opaque: ${ratio("opaque with role scopes (3 projects × 10 roles)", "opaque plain")} (target ≥ 80 %)`);
  log(`JWT with role claims vs plain JWT: ${ratio("jwt with role claims (3 projects × 10 roles)", "jwt plain")} (information)`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
