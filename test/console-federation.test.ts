// The console's workload identity federation pages and "last used" columns, in real headless
// Chromium: a trust policy from the Kubernetes preset with an uploaded JWKS, a machine's binding,
// the dry run (accepted / refused with its reason), the token exchange checked from outside, and the
// last use of a PAT and an API app's secret. Screenshots go to the printed folder.
import { randomUUID } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveChromium, openConsoleBrowser, screenshotFailures, signInWithPat, warnIfNoChromium, type ConsoleBrowser } from "./helpers/console-browser.js";
import { managementClient, rest, tokenRequest } from "./helpers/clients.js";
import { makeKey, signJwt } from "./helpers/jwt-issuer.js";
import { kubernetesClaims } from "./helpers/issuer.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

warnIfNoChromium("console-federation");

const ISSUER = "https://cluster-1.k8s.test";
const AUD = "portcullis";
const SUBJECT = "system:serviceaccount:prod:api";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const API = "urn:zitadel:iam:org:project:id:zitadel:aud";

describe.skipIf(!haveChromium)("console: federation and last use", () => {
  let s: TestServer;
  let b: ConsoleBrowser;
  let page: Page;
  let machineId = "";
  let policyId = "";
  let bindingId = "";
  let pat = { id: "", token: "" };
  const key = makeKey("RS256", randomUUID());
  const mint = (aud: string) => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt(key, { iss: ISSUER, iat: now, exp: now + 600, jti: randomUUID(), ...kubernetesClaims("prod", "api", aud) });
  };
  const main = () => page.getByRole("main");
  const go = (hash: string) => page.goto(`${s.url}/ui/console/#${hash}`);
  const call = (method: string, path: string, body?: unknown) => rest(s.url, method, `/portcullis/v1${path}`, { token: s.pat, body });
  // The last use is written by a timer: every second here (a minute by default).
  const lastUsedCell = (rowText: string) => page.getByRole("row").filter({ hasText: rowText }).getByRole("cell").nth(3);

  beforeAll(async () => {
    s = await startTestServer({ env: { PORTCULLIS_CREDENTIALS_LAST_USED_WRITE_INTERVAL: "1000" } });
    b = await openConsoleBrowser("console-federation");
    page = b.page;
    // Set up over the public API (not under test here): a machine user and a PAT of it.
    const mgmt = managementClient(s.url, "connect", s.pat);
    machineId = (await mgmt.addMachineUser({ userName: "k8s-workload", name: "Kubernetes workload" })).userId;
    const p = await mgmt.addPersonalAccessToken({ userId: machineId });
    pat = { id: p.tokenId, token: p.token };
    await signInWithPat(page, s.url, s.pat);
  });

  // A failed step leaves a screenshot of what the page showed.
  screenshotFailures(() => b);

  afterAll(async () => {
    await b?.close();
    await s?.close();
  });

  it("adds a trust policy from the Kubernetes preset with an uploaded JWKS, views it, and shows the API's error for a bad one", async () => {
    await page.getByRole("link", { name: "Federation" }).click();
    await page.getByRole("heading", { name: "Federation", level: 1 }).waitFor();
    await page.getByRole("cell", { name: "No trust policy yet." }).waitFor();
    await b.axe("the federation page");

    // By hand, with a plain-http issuer: the API refuses, the page says why.
    await main().getByLabel("Start from").selectOption("manual");
    await main().getByLabel("Name", { exact: true }).fill("bad");
    await main().getByLabel("Issuer (exact iss)").fill("http://insecure.example");
    await main().getByLabel("JWKS URL").fill("https://insecure.example/jwks");
    await main().getByLabel("Audiences (comma-separated)").fill(AUD);
    await main().getByLabel("RS256").check();
    await page.getByRole("button", { name: "Add policy" }).click();
    expect(await page.getByRole("alert").textContent()).toMatch(/issuer.*InvalidArgument/i);
    await b.shot("policy-error");

    await main().getByLabel("Start from").selectOption("kubernetes");
    await main().getByLabel("Cluster issuer").fill(ISSUER);
    await main().getByLabel("Namespace").fill("prod");
    await main().getByLabel("Service account").fill("api");
    await main().getByLabel("Audience").fill(AUD);
    await main().getByLabel("Pasted here").check();
    await main().getByLabel("JWKS (JSON)").fill(JSON.stringify({ keys: [key.jwk] }));
    await b.axe("the preset form");
    await b.shot("policy-preset-form");
    await page.getByRole("button", { name: "Add policy" }).click();
    await page.getByRole("status").filter({ hasText: "added" }).waitFor();
    policyId = /Policy (\S+) added/.exec((await page.getByRole("status").filter({ hasText: "added" }).textContent()) ?? "")![1]!;
    await page.getByRole("cell", { name: `issuer ${ISSUER}` }).waitFor();

    // What the server holds: the preset's shape, the uploaded keys, no URL.
    const got = await call("GET", `/federation/policies/${policyId}`);
    expect(got.status).toBe(200);
    expect(got.json.policy).toMatchObject({ issuer: ISSUER, audiences: [AUD] });
    expect(got.json.policy.jwksUri ?? "").toBe("");
    expect(JSON.parse(got.json.policy.jwks as string).keys[0].kid).toBe(key.kid);

    await page.getByRole("button", { name: /^View/ }).click();
    const details = page.getByRole("region", { name: /^Policy / });
    await details.getByText("uploaded JWKS (1 key)").waitFor();
    await b.axe("a policy's details");
    await b.shot("federation-policies");
  });

  it("binds the machine, dry-runs a good and a wrong-audience token, and the good one is exchanged", async () => {
    await go(`/users/${machineId}/federation`);
    await page.getByRole("heading", { name: "Federation bindings" }).waitFor();
    await page.getByRole("cell", { name: "No binding." }).waitFor();
    await main().getByLabel("Trust policy").selectOption(policyId);
    await main().getByLabel("Subject").fill(SUBJECT);
    await main().getByLabel("Description (optional)").fill("prod api pods");
    await page.getByRole("button", { name: "Add binding" }).click();
    await page.getByRole("cell", { name: `subject ${SUBJECT}` }).waitFor();
    const listed = await call("POST", `/users/${machineId}/federation/bindings/_search`, {});
    expect(listed.json.result).toHaveLength(1);
    expect(listed.json.result[0]).toMatchObject({ policyId, subject: SUBJECT, description: "prod api pods" });
    bindingId = listed.json.result[0].id as string;

    const good = mint(AUD);
    const box = main().getByLabel("External token");
    await box.fill(good);
    await page.getByRole("button", { name: "Dry run" }).click();
    const result = main().getByRole("status").filter({ hasText: /Accepted|Refused/ });
    await result.filter({ hasText: "Accepted" }).waitFor();
    expect(await result.textContent()).toContain(bindingId);
    // The token is not kept in the page.
    expect(await box.inputValue()).toBe("");
    expect(await page.content()).not.toContain(good);
    await b.axe("the machine's federation tab");
    await b.shot("dry-run-accepted");

    await box.fill(mint("someone-else"));
    await page.getByRole("button", { name: "Dry run" }).click();
    await result.filter({ hasText: "Refused" }).waitFor();
    expect(await result.textContent()).toMatch(/audience/);
    await b.shot("dry-run-refused");

    // The dry run spent nothing: the good token becomes a token of the machine.
    const t = await tokenRequest(s.url, { grant_type: TOKEN_EXCHANGE, subject_token: good, subject_token_type: JWT_TYPE, scope: API });
    expect(t.status, JSON.stringify(t.json)).toBe(200);
    const info = await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${t.json.access_token}` } });
    expect(((await info.json()) as { sub: string }).sub).toBe(machineId);
  });

  it("shows a PAT's last use: never, then the minute it was used", async () => {
    await go(`/users/${machineId}/pats`);
    await page.getByRole("columnheader", { name: "Last used" }).waitFor();
    await expect.poll(() => lastUsedCell(pat.id).textContent()).toBe("never");
    expect((await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${pat.token}` } })).status).toBe(200);
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByRole("columnheader", { name: "Last used" }).waitFor();
          return lastUsedCell(pat.id).textContent();
        },
        { timeout: 15_000, interval: 1_000 },
      )
      .toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await b.shot("pat-last-used");
    // The keys tab has the column too (a key not used yet).
    await go(`/users/${machineId}/keys`);
    await page.getByRole("columnheader", { name: "Last used" }).waitFor();
  });

  it("shows an API app's secret last use", async () => {
    const mgmt = managementClient(s.url, "connect", s.pat);
    const projectId = (await mgmt.addProject({ name: "Orders" })).id;
    const app = await mgmt.addAPIApp({ projectId, name: "orders-api" });
    await go(`/projects/${projectId}/apps`);
    await page.getByRole("button", { name: "Secret use of orders-api" }).click();
    await main().getByText("Client secret last used: never").waitFor();
    const basic = "Basic " + Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(app.clientSecret)}`).toString("base64");
    const r = await fetch(`${s.url}/oauth/v2/introspect`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic }, body: `token=${encodeURIComponent(s.pat)}` });
    expect(r.status).toBe(200);
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByRole("button", { name: "Secret use of orders-api" }).click();
          return main().getByText(/Client secret last used:/).textContent();
        },
        { timeout: 15_000, interval: 1_000 },
      )
      .toMatch(/last used: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    await b.axe("an app's secret use");
    await b.shot("app-secret-last-used");
  });

  it("is usable at 360 px, then removes the binding and the policy after confirmation", async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    for (const hash of ["/federation", `/users/${machineId}/federation`]) {
      await go(hash);
      await main().getByRole("table").waitFor();
      await page.getByRole("cell", { name: /Kubernetes|prod/ }).first().waitFor();
      expect(await page.evaluate<number>("document.documentElement.scrollWidth"), hash).toBeLessThanOrEqual(360);
      await b.shot(`narrow-360${hash.replace(/\W+/g, "-")}`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });

    await go(`/users/${machineId}/federation`);
    await page.getByRole("row").filter({ hasText: bindingId }).getByRole("button", { name: "Remove" }).click();
    const dialog = page.getByRole("dialog", { name: `Remove binding ${bindingId}?` });
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("row").filter({ hasText: bindingId }).getByRole("button", { name: "Remove" }).click();
    await dialog.getByRole("button", { name: "Remove binding" }).click();
    await page.getByRole("cell", { name: "No binding." }).waitFor();
    expect((await call("POST", `/users/${machineId}/federation/bindings/_search`, {})).json.result ?? []).toEqual([]);
    // Unbound: the same kind of token is refused now.
    expect((await tokenRequest(s.url, { grant_type: TOKEN_EXCHANGE, subject_token: mint(AUD), subject_token_type: JWT_TYPE, scope: API })).status).toBe(400);

    await go("/federation");
    await page.getByRole("row").filter({ hasText: policyId }).getByRole("button", { name: "Remove" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove policy" }).click();
    await page.getByRole("cell", { name: "No trust policy yet." }).waitFor();
    expect((await call("GET", `/federation/policies/${policyId}`)).status).toBe(404);
    expect(b.cspErrors).toEqual([]);
  });
});
