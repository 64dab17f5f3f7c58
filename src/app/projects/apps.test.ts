import { describe, expect, it } from "vitest";
import { keyedHash } from "../../crypto/keys.js";
import { reduceProject } from "../../domain/projects/project.js";
import { NOW, callerIn, createHarness, orgEvent, projectEvent, when } from "../core/testing/given.js";
import { appRemovalUniques } from "./app-removal.js";
import { addApiApp, addAppKey, deactivateApp, reactivateApp, regenerateApiClientSecret, removeApp, removeAppKey, updateApiAppConfig, updateApp } from "./apps.js";

const ORG = "org1";
const OTHER = "org2";
const P = "p1";
const caller = callerIn(ORG);

/** Project p1 "My Billing" of org1 with a BASIC app a1 (client c1@my_billing) and a PRIVATE_KEY_JWT app a2 with key k1. */
function given(ids: string[] = ["a9", "c9"]) {
  const t = createHarness({ ids });
  t.given(
    orgEvent(ORG, "org.added", { name: "Acme" }),
    orgEvent(OTHER, "org.added", { name: "Other" }),
    projectEvent(P, ORG, "project.added", { name: "My Billing" }),
    projectEvent(P, ORG, "project.application.added", { appId: "a1", name: "api" }),
    projectEvent(P, ORG, "project.application.config.api.added", { appId: "a1", clientId: "c1@my_billing", hashedSecret: "h1" }),
    projectEvent(P, ORG, "project.application.added", { appId: "a2", name: "keyed" }),
    projectEvent(P, ORG, "project.application.config.api.added", { appId: "a2", clientId: "c2@my_billing", authMethodType: 1 }),
    projectEvent(P, ORG, "project.application.oidc.key.added", {
      applicationId: "a2",
      clientId: "c2@my_billing",
      keyId: "k1",
      type: 1,
      expirationDate: "9999-12-31T23:59:59Z",
      publicKey: Buffer.from("-----BEGIN PUBLIC KEY-----\n").toString("base64"),
    }),
  );
  t.givenClaims({ type: "appname", field: `api:${P}` }, { type: "appname", field: `keyed:${P}` }, { type: "app_client_id", field: "c1@my_billing" }, { type: "app_client_id", field: "c2@my_billing" });
  return t;
}

const written = (sequence: number, type: string, payload: Record<string, unknown>) => ({ aggregateType: "project", aggregateId: P, resourceOwner: ORG, sequence, type, payload });

describe("addApiApp", () => {
  it("writes the app and its API config (hashed secret, BASIC omitted), claims name and client id, returns the secret once", async () => {
    const t = given();
    const r = await addApiApp(t.deps, caller, { projectId: P, name: " rs ", authMethodType: 0 });
    expect(r).toEqual({ appId: "a9", clientId: "c9@my_billing", clientSecret: expect.stringMatching(/^pca_[A-Za-z0-9]{64}$/), details: { sequence: 8, creationDate: NOW, resourceOwner: ORG } });
    expect(t.written()).toEqual([
      written(7, "project.application.added", { appId: "a9", name: "rs" }),
      written(8, "project.application.config.api.added", { appId: "a9", clientId: "c9@my_billing", hashedSecret: keyedHash(t.deps.keys.hmac, r.clientSecret) }),
    ]);
    expect(t.writtenClaims()).toEqual([
      { action: "add", type: "appname", field: `rs:${P}` },
      { action: "add", type: "app_client_id", field: "c9@my_billing" },
    ]);
  });

  it("a PRIVATE_KEY_JWT app has no secret; refuses an unknown or other org's project, an empty name, a taken name, an unknown method", async () => {
    const t = given();
    const r = await addApiApp(t.deps, caller, { projectId: P, name: "jwt", authMethodType: 1 });
    expect(r.clientSecret).toBe("");
    expect(t.written()[1]!.payload).toEqual({ appId: "a9", clientId: "c9@my_billing", authMethodType: 1 });
    const t2 = given();
    await expect(when(() => addApiApp(t2.deps, caller, { projectId: "", name: "x", authMethodType: 0 }))).rejects.toMatchObject({ kind: "InvalidArgument", id: "PROJECT-5m9E" });
    await expect(addApiApp(t2.deps, caller, { projectId: "nope", name: "x", authMethodType: 0 })).rejects.toMatchObject({ kind: "FailedPrecondition", id: "PROJECT-9fnsf" });
    await expect(addApiApp(t2.deps, callerIn(OTHER), { projectId: P, name: "x", authMethodType: 0 })).rejects.toMatchObject({ kind: "FailedPrecondition", id: "PROJECT-9fnsf" });
    await expect(addApiApp(t2.deps, caller, { projectId: P, name: " ", authMethodType: 0 })).rejects.toMatchObject({ kind: "InvalidArgument", id: "PROJECT-Bff2g" });
    await expect(addApiApp(t2.deps, caller, { projectId: P, name: "x", authMethodType: 5 })).rejects.toMatchObject({ kind: "InvalidArgument", id: "PROJECT-Bff2g" });
    await expect(addApiApp(t2.deps, caller, { projectId: P, name: "api", authMethodType: 0 })).rejects.toMatchObject({ kind: "AlreadyExists", message: "Errors.Project.App.AlreadyExists" });
    expect(t2.written()).toEqual([]);
  });
});

describe("changing an app", () => {
  it("renames (moving the name claim), changes the auth method, regenerates the secret, deactivates and reactivates", async () => {
    const t = given();
    await updateApp(t.deps, caller, P, "a1", "api2");
    await updateApiAppConfig(t.deps, caller, P, "a1", 1);
    const s = await regenerateApiClientSecret(t.deps, caller, P, "a1");
    await deactivateApp(t.deps, caller, P, "a1");
    await reactivateApp(t.deps, caller, P, "a1");
    expect(t.written().map((e) => [e.type, e.payload])).toEqual([
      ["project.application.changed", { appId: "a1", name: "api2" }],
      ["project.application.config.api.changed", { appId: "a1", authMethodType: 1 }],
      ["project.application.config.api.secret.changed", { appId: "a1", hashedSecret: keyedHash(t.deps.keys.hmac, s.clientSecret) }],
      ["project.application.deactivated", { appId: "a1" }],
      ["project.application.reactivated", { appId: "a1" }],
    ]);
    expect(t.writtenClaims()).toEqual([
      { action: "remove", type: "appname", field: `api:${P}` },
      { action: "add", type: "appname", field: `api2:${P}` },
    ]);
    const app = reduceProject(P, t.stream("project", P)).apps.get("a1")!;
    expect(app).toMatchObject({ name: "api2", authMethodType: 1, state: 1, secret: { hash: keyedHash(t.deps.keys.hmac, s.clientSecret), sequence: 9 } });
  });

  it("answers ZITADEL's errors for unknown apps, no change and wrong states", async () => {
    const t = given();
    await expect(updateApp(t.deps, caller, P, "nope", "x")).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-28di9" });
    await expect(updateApp(t.deps, caller, P, "a1", "api")).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-2m8vx" });
    await expect(updateApiAppConfig(t.deps, caller, P, "a1", 0)).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-1m88i" });
    await expect(reactivateApp(t.deps, caller, P, "a1")).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-1n8cM" });
    await expect(regenerateApiClientSecret(t.deps, callerIn(OTHER), P, "a1")).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-2g66f" });
    await expect(removeApp(t.deps, caller, P, "nope")).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-0po9s" });
    expect(t.written()).toEqual([]);
  });
});

describe("removing", () => {
  it("an app releases its name and client id; its keys go with it", async () => {
    const t = given();
    await removeApp(t.deps, caller, P, "a2");
    expect(t.written()).toEqual([written(7, "project.application.removed", { appId: "a2" })]);
    expect(t.writtenClaims()).toEqual([
      { action: "remove", type: "appname", field: `keyed:${P}` },
      { action: "remove", type: "app_client_id", field: "c2@my_billing" },
    ]);
    expect(reduceProject(P, t.stream("project", P)).apps.has("a2")).toBe(false);
  });

  it("a key: only a key of that app (COMMAND-4m77G otherwise)", async () => {
    const t = given();
    await expect(removeAppKey(t.deps, caller, P, "a1", "k1")).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-4m77G" });
    await removeAppKey(t.deps, caller, P, "a2", "k1");
    expect(t.written()).toEqual([written(7, "project.application.oidc.key.removed", { keyId: "k1" })]);
    expect(reduceProject(P, t.stream("project", P)).apps.get("a2")!.keys.size).toBe(0);
  });

  it("a project: appRemovalUniques releases every app's name and client id", () => {
    const t = given();
    expect(appRemovalUniques(reduceProject(P, t.stream("project", P))).map((c) => [c.action, c.type, c.field])).toEqual([
      ["remove", "appname", `api:${P}`],
      ["remove", "app_client_id", "c1@my_billing"],
      ["remove", "appname", `keyed:${P}`],
      ["remove", "app_client_id", "c2@my_billing"],
    ]);
  });
});

describe("addAppKey", () => {
  it("refuses a BASIC app (COMMAND-Dff54), an unknown app (COMMAND-sak24), another key type and a past expiry", async () => {
    const t = given();
    await expect(addAppKey(t.deps, caller, { projectId: P, appId: "a1", type: 1 })).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-Dff54" });
    await expect(addAppKey(t.deps, caller, { projectId: P, appId: "nope", type: 1 })).rejects.toMatchObject({ kind: "FailedPrecondition", id: "COMMAND-sak24" });
    await expect(addAppKey(t.deps, caller, { projectId: P, appId: "a2", type: 0 })).rejects.toMatchObject({ kind: "InvalidArgument" });
    await expect(addAppKey(t.deps, caller, { projectId: P, appId: "a2", type: 1, expirationDate: new Date("2001-01-01") })).rejects.toMatchObject({ id: "DOMAIN-dv3t5" });
    expect(t.written()).toEqual([]);
  });
});
