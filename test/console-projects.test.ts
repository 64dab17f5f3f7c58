// The console's projects, API applications, project grants, a machine's authorizations and
// memberships, and the token preview — in real headless Chromium, checked from outside over the
// public API and the OAuth endpoints (token, introspection). Screenshots go to the printed folder.
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveChromium, openConsoleBrowser, screenshotFailures, signInWithPat, warnIfNoChromium, type ConsoleBrowser } from "./helpers/console-browser.js";
import { managementClient, organizationServiceV2, tokenRequest } from "./helpers/clients.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

warnIfNoChromium("console-projects");

const ROLES_SCOPE = "urn:zitadel:iam:org:projects:roles";

async function introspect(url: string, token: string, client: { id: string; secret: string }) {
  const res = await fetch(`${url}/oauth/v2/introspect`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Basic " + Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString("base64") },
    body: new URLSearchParams({ token }).toString(),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe.skipIf(!haveChromium)("console: projects, apps, grants, authorizations, token preview", () => {
  let s: TestServer;
  let b: ConsoleBrowser;
  let page: Page;
  let machineId = "";
  let partnerOrgId = "";
  let projectId = "";
  let app = { id: "", secret: "" };
  const main = () => page.getByRole("main");
  const go = (hash: string) => page.goto(`${s.url}/ui/console/#${hash}`);

  beforeAll(async () => {
    s = await startTestServer();
    b = await openConsoleBrowser("console-projects");
    page = b.page;
    // Set up over the public API (not under test here): a machine user, and a second organization.
    const mgmt = managementClient(s.url, "connect", s.pat);
    machineId = (await mgmt.addMachineUser({ userName: "orders-svc", name: "Orders service" })).userId;
    partnerOrgId = (await organizationServiceV2(s.url, "connect", s.pat).addOrganization({ name: "Partner Org" })).organizationId;
    await signInWithPat(page, s.url, s.pat);
  });

  // A failed step leaves a screenshot of what the page showed.
  screenshotFailures(() => b);

  afterAll(async () => {
    await b?.close();
    await s?.close();
  });

  it("creates a project, adds roles, edits one, and shows the API's error for a duplicate", async () => {
    await page.getByRole("link", { name: "Projects" }).click();
    await page.getByRole("heading", { name: "Projects" }).waitFor();
    await page.getByRole("cell", { name: "No projects match." }).waitFor();
    await b.axe("the project list");
    await page.getByRole("button", { name: "New project" }).click();
    await main().getByLabel("Name", { exact: true }).fill("Orders");
    // Roles asserted: the project's API app sees them when it introspects a token.
    await main().getByLabel(/Assert roles in tokens/).check();
    await page.getByRole("button", { name: "Create project" }).click();
    await page.getByRole("heading", { name: /Orders/ }).waitFor();
    projectId = /#\/projects\/(\d+)\//.exec(page.url())![1]!;
    expect((await managementClient(s.url, "connect", s.pat).getProjectByID({ id: projectId })).project?.projectRoleAssertion).toBe(true);

    for (const [key, name] of [
      ["orders.read", "Read orders"],
      ["orders.write", "Write orders"],
    ] as const) {
      await main().getByLabel("Role key").fill(key);
      await main().getByLabel("Display name").fill(name);
      await main().getByLabel("Group").fill("orders");
      await page.getByRole("button", { name: "Add role" }).click();
      await page.getByRole("cell", { name: key, exact: true }).waitFor();
    }
    await page.getByRole("row").filter({ hasText: "orders.write" }).getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByRole("dialog", { name: "Edit role orders.write" });
    await dialog.getByLabel("Display name").fill("Place orders");
    await dialog.getByRole("button", { name: "Save role" }).click();
    await page.getByRole("cell", { name: "Place orders" }).waitFor();
    const roles = await managementClient(s.url, "connect", s.pat).listProjectRoles({ projectId });
    expect(roles.result.map((r) => [r.key, r.displayName, r.group])).toEqual([
      ["orders.read", "Read orders", "orders"],
      ["orders.write", "Place orders", "orders"],
    ]);

    await main().getByLabel("Role key").fill("orders.read");
    await page.getByRole("button", { name: "Add role" }).click();
    expect(await page.getByRole("alert").textContent()).toMatch(/\([A-Za-z0-9]+-[A-Za-z0-9]+\).*AlreadyExists/);
    await b.axe("a project's roles");
    await b.shot("project-roles");

    await go("/projects");
    await main().getByRole("searchbox", { name: "Search name" }).fill("ord");
    await page.keyboard.press("Enter");
    await page.getByRole("link", { name: "Orders" }).waitFor();
    await b.shot("projects");
  });

  it("creates an API app whose secret is shown once and introspects, regenerates it, and downloads an app key", async () => {
    await go(`/projects/${projectId}/apps`);
    await main().getByLabel("Application name").fill("orders-api");
    await page.getByRole("button", { name: "Create API application" }).click();
    const dialog = page.getByRole("dialog", { name: "API application created" });
    await dialog.waitFor();
    await dialog.getByText("only time it is shown").waitFor();
    app = { id: await dialog.getByLabel("Client id").inputValue(), secret: await dialog.getByLabel("Client secret").inputValue() };
    expect(app.secret.length).toBeGreaterThan(20);
    await b.axe("the app secret dialog");
    await b.shot("app-secret-once");
    await dialog.getByRole("button", { name: "I stored it" }).click();
    // Listed with its client id; the secret is nowhere on the page any more.
    await page.getByRole("cell", { name: app.id }).waitFor();
    expect(await page.content()).not.toContain(app.secret);
    // The app authenticates at the introspection endpoint with it (an unknown token: inactive).
    expect((await introspect(s.url, "not-a-token", app)).json.active).toBe(false);

    await page.getByRole("row").filter({ hasText: "orders-api" }).getByRole("button", { name: "Regenerate secret" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Regenerate secret" }).click();
    const again = page.getByRole("dialog", { name: "New client secret" });
    const newSecret = await again.getByLabel("Client secret").inputValue();
    expect(newSecret).not.toBe(app.secret);
    await again.getByRole("button", { name: "I stored it" }).click();
    expect((await introspect(s.url, "not-a-token", app)).status).toBe(401);
    app = { ...app, secret: newSecret };
    expect((await introspect(s.url, "not-a-token", app)).status).toBe(200);

    // private_key_jwt: no secret; a key file downloaded once.
    await main().getByLabel("Application name").fill("orders-jwt");
    await main().getByLabel(/private_key_jwt/).check();
    await page.getByRole("button", { name: "Create API application" }).click();
    const jwtRow = page.getByRole("row").filter({ hasText: "orders-jwt" });
    await jwtRow.getByText("private_key_jwt").waitFor();
    await jwtRow.getByRole("button", { name: "Keys of orders-jwt" }).click();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: /New key/ }).click()]);
    const file = path.join(b.shots, download.suggestedFilename());
    await download.saveAs(file);
    const kf = JSON.parse(readFileSync(file, "utf8")) as { type: string; keyId: string; key: string; appId: string; clientId: string };
    rmSync(file);
    expect(kf.type).toBe("application");
    expect(kf.key).toMatch(/BEGIN RSA PRIVATE KEY/);
    await page.getByRole("cell", { name: kf.keyId }).waitFor();
    await b.axe("a project's applications");
    await b.shot("project-apps");
  });

  it("authorizes the machine with a role; the token preview shows it, and a real token carries it", async () => {
    await go(`/users/${machineId}/authorizations`);
    await main().getByRole("combobox", { name: /^Project/ }).selectOption({ label: "Orders" });
    await main().getByRole("group", { name: "Roles" }).getByLabel("orders.read").check();
    await page.getByRole("button", { name: "Add authorization" }).click();
    const row = page.getByRole("row").filter({ hasText: "Orders" });
    await row.getByRole("cell", { name: "orders.read", exact: true }).waitFor();
    // Edit: both roles, then back to one.
    await row.getByRole("button", { name: /Edit roles/ }).click();
    await page.getByRole("dialog").getByLabel("orders.write").check();
    await page.getByRole("dialog").getByRole("button", { name: "Save roles" }).click();
    await row.getByRole("cell", { name: "orders.read, orders.write" }).waitFor();
    await row.getByRole("button", { name: /Edit roles/ }).click();
    await page.getByRole("dialog").getByLabel("orders.write").uncheck();
    await page.getByRole("dialog").getByRole("button", { name: "Save roles" }).click();
    await row.getByRole("cell", { name: "orders.read", exact: true }).waitFor();
    await b.axe("a machine's authorizations");
    await b.shot("machine-authorizations");

    await page.getByRole("link", { name: "Token preview" }).click();
    await main().getByLabel("Project (audience)").selectOption({ label: "Orders" });
    const scope = await main().getByRole("textbox", { name: /^Scope/ }).inputValue();
    expect(scope.split(" ").sort()).toEqual(["openid", ROLES_SCOPE, `urn:zitadel:iam:org:project:id:${projectId}:aud`].sort());
    await page.getByRole("button", { name: "Preview token" }).click();
    expect(await main().getByRole("combobox", { name: /^Project/ }).inputValue()).toBe(projectId);
    await page.getByRole("table", { name: "Roles in the token" }).getByRole("cell", { name: "orders.read", exact: true }).waitFor();
    const claimRow = page.getByRole("table", { name: "Claims of the token" }).getByRole("row").filter({ hasText: `urn:zitadel:iam:org:project:${projectId}:roles` });
    expect(await claimRow.textContent()).toContain("orders.read");
    expect(await claimRow.textContent()).not.toContain("orders.write");
    await b.axe("the token preview");
    await b.shot("token-preview");

    // The token endpoint agrees: a real token, introspected by the project's API app.
    const secret = await managementClient(s.url, "connect", s.pat).generateMachineSecret({ userId: machineId });
    const t = await tokenRequest(s.url, { grant_type: "client_credentials", scope }, { id: secret.clientId, secret: secret.clientSecret });
    expect(t.status).toBe(200);
    const info = await introspect(s.url, t.json.access_token as string, app);
    expect(info.json.active).toBe(true);
    expect(Object.keys(info.json[`urn:zitadel:iam:org:project:${projectId}:roles`] as object)).toEqual(["orders.read"]);

    // An error from the preview shows as message and id.
    await go(`/users/${machineId}/token`);
    await main().getByRole("textbox", { name: /^Scope/ }).fill("   ");
    await page.getByRole("button", { name: "Preview token" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/scope missing \(PREVIEW-scope\)/);
  });

  it("grants the project to a second org, edits and removes the grant; the second org authorizes its machine on it", async () => {
    await go(`/projects/${projectId}/grants`);
    await main().getByLabel("Organization").selectOption({ label: `Partner Org (${partnerOrgId})` });
    await main().getByRole("group", { name: "Roles to grant" }).getByLabel("orders.read").check();
    await page.getByRole("button", { name: "Grant project" }).click();
    const row = page.getByRole("row").filter({ hasText: "Partner Org" });
    await row.getByRole("cell", { name: "orders.read", exact: true }).waitFor();
    await row.getByRole("button", { name: /Edit roles/ }).click();
    await page.getByRole("dialog").getByLabel("orders.write").check();
    await page.getByRole("dialog").getByRole("button", { name: "Save roles" }).click();
    await row.getByRole("cell", { name: "orders.read, orders.write" }).waitFor();
    await b.axe("a project's grants");
    await b.shot("project-grants");
    const granted = await managementClient(s.url, "connect", s.pat, partnerOrgId).listGrantedProjects({});
    expect(granted.result.map((g) => [g.projectId, g.grantedRoleKeys])).toEqual([[projectId, ["orders.read", "orders.write"]]]);

    // In the partner org (org switcher): its machine gets an authorization on the granted project.
    const partnerMachine = (await managementClient(s.url, "connect", s.pat, partnerOrgId).addMachineUser({ userName: "partner-svc", name: "Partner" })).userId;
    await page.getByRole("banner").getByLabel("Organization").selectOption({ label: "Partner Org" });
    await page.getByRole("link", { name: "partner-svc" }).waitFor();
    await go(`/users/${partnerMachine}/authorizations`);
    const picker = main().getByRole("combobox", { name: /^Project/ });
    await picker.selectOption((await picker.locator("option", { hasText: "Orders (granted by" }).getAttribute("value"))!);
    await main().getByRole("group", { name: "Roles" }).getByLabel("orders.write").check();
    await page.getByRole("button", { name: "Add authorization" }).click();
    await page.getByRole("row").filter({ hasText: "granted project" }).getByRole("cell", { name: "orders.write", exact: true }).waitFor();
    await b.shot("granted-project-authorization");
    const home = (await managementClient(s.url, "connect", s.pat).getMyOrg({})).org!;
    await page.getByRole("banner").getByLabel("Organization").selectOption({ label: home.name });
    await page.getByRole("link", { name: "orders-svc" }).waitFor();

    await go(`/projects/${projectId}/grants`);
    // Keyboard: Enter opens the confirmation, Escape leaves it with nothing removed.
    await row.getByRole("button", { name: "Remove" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("dialog", { name: /Remove the grant/ }).waitFor();
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "detached" });
    expect(await row.getByRole("cell", { name: "orders.read, orders.write" }).count()).toBe(1);
    await row.getByRole("button", { name: "Remove" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
    await page.getByRole("cell", { name: "Not granted to any organization." }).waitFor();
  });

  it("shows the machine's project membership; edits, deactivates, reactivates and removes the project; usable at 360 px", async () => {
    await go(`/projects/${projectId}/members`);
    await main().getByLabel("User id").fill(machineId);
    await main().getByRole("combobox", { name: /^Role/ }).selectOption("PROJECT_OWNER_VIEWER");
    await page.getByRole("button", { name: "Add member" }).click();
    await page.getByRole("cell", { name: "PROJECT_OWNER_VIEWER" }).waitFor();
    await b.axe("a project's members");
    await b.shot("project-members");
    await go(`/users/${machineId}/memberships`);
    const membership = page.getByRole("row").filter({ hasText: "Project" });
    expect(await membership.textContent()).toMatch(/Orders.*PROJECT_OWNER_VIEWER/);
    // One page of ListUserMemberships, with its total.
    expect(await page.getByRole("navigation", { name: "Membership pages" }).textContent()).toContain("1–1 of 1");
    await b.axe("a machine's memberships");
    await b.shot("machine-memberships");

    await go(`/projects/${projectId}/general`);
    await main().getByLabel(/Only users with a role of this project/).check();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved.").waitFor();
    expect((await managementClient(s.url, "connect", s.pat).getProjectByID({ id: projectId })).project?.projectRoleCheck).toBe(true);
    await page.getByRole("button", { name: "Deactivate" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Deactivate" }).click();
    await page.getByRole("heading", { name: /Orders/ }).getByText("Inactive", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Reactivate" }).click();
    await page.getByRole("heading", { name: /Orders/ }).getByText("Active", { exact: true }).waitFor();
    await b.axe("a project's general tab");
    await b.shot("project-general");

    await page.setViewportSize({ width: 360, height: 740 });
    for (const [hash, heading] of [
      [`/projects/${projectId}/roles`, /Orders/],
      [`/projects/${projectId}/apps`, /Orders/],
      [`/projects/${projectId}/grants`, /Orders/],
      [`/users/${machineId}/authorizations`, /orders-svc/],
      [`/users/${machineId}/token`, /orders-svc/],
    ] as const) {
      await go(hash);
      await page.getByRole("heading", { name: heading }).waitFor();
      await page.getByRole("button").last().waitFor();
      expect(await page.evaluate<number>("document.documentElement.scrollWidth"), hash).toBeLessThanOrEqual(360);
    }
    await b.shot("project-narrow-360");
    await page.setViewportSize({ width: 1280, height: 900 });

    await go(`/projects/${projectId}/general`);
    await page.getByRole("button", { name: "Remove" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove for good" }).click();
    await page.getByRole("cell", { name: "No projects match." }).waitFor();
    expect(b.cspErrors).toEqual([]);
  });
});
