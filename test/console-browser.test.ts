// The web console in real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
// sign-in with a PAT and with a single-use sign-in link, a machine user's secret and key through
// the pages, checked from outside with the token endpoint; errors shown; axe-core; 360 px.
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SignJWT } from "jose";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveChromium, openConsoleBrowser, warnIfNoChromium, type ConsoleBrowser } from "./helpers/console-browser.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { tokenRequest } from "./helpers/clients.js";
import { operator } from "./helpers/operator-cli.js";

warnIfNoChromium("console-browser");

describe.skipIf(!haveChromium)("web console in Chromium", () => {
  let s: TestServer;
  let b: ConsoleBrowser;
  let page: Page;
  let shots: string;
  let cfg: string;
  let machineId = "";

  const shot = (name: string) => b.shot(name);
  const axe = (where: string) => b.axe(where);

  beforeAll(async () => {
    cfg = mkdtempSync(path.join(os.tmpdir(), "portcullis-cli-cfg-"));
    // Last uses written at once (not once a minute), so the secrets table shows them.
    s = await startTestServer({ env: { PORTCULLIS_CREDENTIALS_LAST_USED_WRITE_INTERVAL: "100" } });
    b = await openConsoleBrowser("console-browser");
    page = b.page;
    shots = b.shots;
  });

  afterAll(async () => {
    await b?.close();
    await s?.close();
    rmSync(cfg, { recursive: true, force: true });
  });

  it("signs in with a PAT (keyboard only) and lists machine users", async () => {
    await page.goto(`${s.url}/ui/console/`);
    await axe("the sign-in page");
    await shot("sign-in");
    await page.keyboard.press("Tab"); // the PAT field is the first control
    await page.keyboard.type("not-a-token");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("not accepted");
    await page.getByLabel("Personal access token").fill(s.pat);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Machine users" }).waitFor();
    await page.getByRole("link", { name: "admin" }).waitFor();
    expect(await page.evaluate("localStorage.length")).toBe(0);
    await axe("the machine user list");
    await shot("machine-users");
  });

  it("creates a machine user, and shows the API's error for a duplicate", async () => {
    await page.getByRole("button", { name: "New machine user" }).click();
    await page.getByLabel("Username", { exact: true }).fill("billing-svc");
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: /billing-svc/ }).waitFor();
    machineId = /#\/users\/(\d+)\//.exec(page.url())![1]!;
    await axe("a machine user's page");
    await shot("machine-general");

    await page.goto(`${s.url}/ui/console/#/users`);
    await page.getByRole("button", { name: "New machine user" }).click();
    await page.getByLabel("Username", { exact: true }).fill("billing-svc");
    await page.getByRole("button", { name: "Create" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    // ZITADEL's message and error id, and the status.
    expect(await alert.textContent()).toMatch(/\(V3-DKcYh\).*AlreadyExists/);
    await shot("error-shown");
  });

  it("generates a secret shown once, gets a token with it, deletes it, and the token endpoint refuses it", async () => {
    await page.goto(`${s.url}/ui/console/#/users/${machineId}/secrets`);
    await page.getByRole("button", { name: "Generate secret" }).click();
    const dialog = page.getByRole("dialog", { name: "Client secret" });
    await dialog.waitFor();
    const clientId = await dialog.getByLabel("Client id").inputValue();
    const secret = await dialog.getByLabel("Client secret").inputValue();
    expect(clientId).toBe("billing-svc");
    await axe("the secret dialog");
    await shot("secret-once");
    const ok = await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: clientId, secret });
    expect(ok.status).toBe(200);
    await dialog.getByRole("button", { name: "I stored it" }).click();

    // Listed with its dates and last use (the token request above).
    const row = page.getByRole("row").filter({ hasText: "no description" });
    await expect
      .poll(async () => {
        await page.reload();
        return (await row.textContent({ timeout: 5_000 })) ?? "";
      })
      .not.toMatch(/never$/);
    await shot("secrets");
    await row.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete secret" }).click();
    await page.getByRole("cell", { name: "No client secret." }).waitFor();
    const refused = await tokenRequest(s.url, { grant_type: "client_credentials", scope: "openid" }, { id: clientId, secret });
    expect(refused.status).toBe(401);
    expect(refused.json.error).toBe("invalid_client");
  });

  it("downloads a working key file", async () => {
    await page.goto(`${s.url}/ui/console/#/users/${machineId}/keys`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: /New key/ }).click()]);
    const file = path.join(shots, download.suggestedFilename());
    await download.saveAs(file);
    const kf = JSON.parse(readFileSync(file, "utf8")) as { keyId: string; key: string; userId: string };
    rmSync(file);
    expect(kf.userId).toBe(machineId);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: kf.keyId })
      .setIssuer(kf.userId)
      .setSubject(kf.userId)
      .setAudience(s.url)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(createPrivateKey(kf.key));
    const r = await tokenRequest(s.url, { grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion, scope: "openid" });
    expect(r.status).toBe(200);
    await page.getByRole("cell", { name: kf.keyId }).waitFor();
    await shot("keys");
  });

  it("shows PATs, metadata, memberships, the activity (newest first) and the members; usable at 360 px", async () => {
    await page.goto(`${s.url}/ui/console/#/users/${machineId}/pats`);
    await page.getByRole("button", { name: "New token" }).click();
    const token = await page.getByRole("dialog").getByLabel("Token").inputValue();
    expect((await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await page.getByRole("button", { name: "I stored it" }).click();
    await shot("pats");
    await page.goto(`${s.url}/ui/console/#/users/${machineId}/metadata`);
    await page.getByLabel("Key", { exact: true }).fill("team");
    await page.getByLabel("Value").fill("billing");
    await page.getByRole("button", { name: "Set" }).click();
    await page.getByRole("cell", { name: "billing", exact: true }).waitFor();
    await shot("metadata");
    await page.goto(`${s.url}/ui/console/#/users/${machineId}/memberships`);
    await page.getByText("No memberships").waitFor();
    await shot("memberships");
    await page.goto(`${s.url}/ui/console/#/members`);
    await page.getByRole("cell", { name: /ORG_OWNER/ }).waitFor();
    await axe("the members page");
    await shot("members");
    await page.goto(`${s.url}/ui/console/#/users/${machineId}/activity`);
    const first = page.locator("tbody tr").first();
    await first.waitFor();
    expect(await first.textContent()).toContain("metadata.set");
    await shot("activity");
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${s.url}/ui/console/#/users`);
    await page.getByRole("link", { name: "billing-svc" }).waitFor();
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(360);
    await shot("narrow-360");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("signs out, then signs in once with a link from `portcullis console login`", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.evaluate("sessionStorage.length")).toBe(0);

    const env = { XDG_CONFIG_HOME: cfg };
    expect((await operator(["login", s.url], env, s.pat)).code).toBe(0);
    const adminId = ((await (await fetch(`${s.url}/oidc/v1/userinfo`, { headers: { authorization: `Bearer ${s.pat}` } })).json()) as { sub: string }).sub;
    const patIds = async () => {
      const r = await fetch(`${s.url}/management/v1/users/${adminId}/pats/_search`, { method: "POST", headers: { authorization: `Bearer ${s.pat}`, "content-type": "application/json" }, body: "{}" });
      return ((await r.json()) as { result: { id: string }[] }).result.map((p) => p.id).sort();
    };
    const patsBefore = await patIds();
    const r = await operator(["console", "login", "--output", "json"], env);
    expect(r.code).toBe(0);
    const link = (JSON.parse(r.stdout) as { link: string }).link;
    expect(link).toMatch(/\/ui\/console\/#signin=/);

    // Opened in a fresh tab: signs in, and the link leaves the address bar.
    const tab = await page.context().newPage();
    await tab.goto(link);
    await tab.getByRole("heading", { name: "Machine users" }).waitFor();
    expect(tab.url()).not.toContain("signin=");
    await b.shot("signed-in-by-link", tab);
    // A second link opened in the signed-in tab (only the fragment changes, no page load): it leaves the
    // address bar at once and is used, so it is not left valid in the history; the tab stays signed in.
    const second = JSON.parse((await operator(["console", "login", "--output", "json"], env)).stdout) as { link: string };
    await tab.evaluate((h) => void ((globalThis as unknown as { location: { hash: string } }).location.hash = h), new URL(second.link).hash);
    await expect.poll(() => tab.url()).not.toContain("signin=");
    await tab.getByRole("heading", { name: "Machine users" }).waitFor();
    // Both link PATs are used up and the first session's PAT removed: one session PAT, as before.
    await expect.poll(async () => (await patIds()).length).toBe(patsBefore.length + 1);
    // The link PAT is gone; the session PAT the console made is removed at sign-out.
    expect((await patIds()).length).toBe(patsBefore.length + 1);
    await tab.getByRole("button", { name: "Sign out" }).click();
    await tab.getByRole("dialog").getByRole("button", { name: "Sign out" }).click();
    await tab.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await patIds()).toEqual(patsBefore);
    await tab.close();

    // The same link again (here in the signed-out tab): refused, and nothing signs in.
    await page.goto(link);
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/expired or was already used/);
    await shot("link-used-twice");
    expect(b.cspErrors).toEqual([]);
  });
});
