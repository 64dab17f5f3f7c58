import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { startServerProcess, type ServerProcess } from "./helpers/process.js";
import { rest, tokenRequest } from "./helpers/clients.js";
import { githubClaims, startIssuer, type TestIssuer } from "./helpers/issuer.js";

/**
 * No detail of an external token reaches the log, even at debug level, whether it is accepted,
 * replayed or refused, at the token endpoint or in the dry run (the built server, its real output).
 */

const API = "urn:zitadel:iam:org:project:id:zitadel:aud";
const AUD = "portcullis";

let srv: ServerProcess;
let iss: TestIssuer;
let dataDir: string;

beforeAll(async () => {
  iss = await startIssuer();
  dataDir = mkdtempSync(path.join(os.tmpdir(), "portcullis-fedlog-"));
  srv = await startServerProcess({ PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_LOG_LEVEL: "debug", PORTCULLIS_FEDERATION_ALLOW_HTTP_LOOPBACK: "true" });
}, 90_000);

afterAll(async () => {
  await srv?.kill();
  await iss?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("federation logging", () => {
  it("logs refusal reasons, never the token, its claims or its jti", async () => {
    const pat = readFileSync(path.join(dataDir, "admin.pat"), "utf8").trim();
    const call = (method: string, p: string, body?: unknown) => rest(srv.url, method, p, { token: pat, body });
    const userId = (await call("POST", "/management/v1/users/machine", { userName: "logged", name: "logged" })).json.userId as string;
    const policyId = (await call("POST", "/portcullis/v1/federation/policies", { policy: { name: "gh", issuer: iss.url, jwksUri: iss.jwksUri, audiences: [AUD], algorithms: ["RS256"] } })).json
      .policyId as string;
    expect((await call("POST", `/portcullis/v1/users/${userId}/federation/bindings`, { policyId, condition: 'claims.repository == "acme/api"' })).status).toBe(200);

    const marker = `marker-${randomUUID()}`;
    const jti = `jti-${randomUUID()}`;
    const good = await iss.mint({ ...githubClaims("acme/api", "refs/heads/main", AUD), workflow: marker }, { jti });
    const wrong = await iss.mint({ ...githubClaims("acme/other", "refs/heads/main", AUD), workflow: marker });
    const exchange = (t: string) =>
      tokenRequest(srv.url, { grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", subject_token: t, subject_token_type: "urn:ietf:params:oauth:token-type:jwt", scope: API });
    expect((await exchange(good)).status).toBe(200);
    expect((await exchange(good)).status).toBe(400);
    expect((await exchange(wrong)).status).toBe(400);
    expect((await call("POST", "/portcullis/v1/federation/_dry_run", { token: wrong })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));

    const out = srv.output();
    expect(out).toContain("external token refused");
    for (const t of [good, wrong]) for (const part of t.split(".")) expect(out).not.toContain(part);
    expect(out).not.toContain(marker);
    expect(out).not.toContain(jti);
    expect(out).not.toContain("acme/other");
  });
});
