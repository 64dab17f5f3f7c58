import { describe, expect, it } from "vitest";
import { classifySecret } from "../../crypto/credential-formats.js";
import { keyedHash } from "../../crypto/keys.js";
import { NOW, callerIn, createHarness, orgEvent, userEvent, when } from "../core/testing/given.js";
import { MISS, type Lookup } from "../core/lookup.js";
import { clientBySecret } from "../oauth/clients.js";
import { generateMachineSecret, removeMachineSecret } from "../users/users.js";
import { setCredentialPolicy } from "./policy.js";
import { addSecret, removeSecret, rotateSecret, updateSecret } from "./secrets.js";

const ORG = "org1";
const caller = callerIn(ORG);
const DAY = 86400;
const inDays = (d: number) => new Date(NOW.getTime() + d * DAY * 1000);

function given(ids: string[] = []) {
  const t = createHarness({ ids });
  t.given(orgEvent(ORG, "org.added", { name: "Acme" }), userEvent("u1", ORG, "user.machine.added", { userName: "bot", name: "Bot" }));
  return t;
}

/** Client authentication with the login name "bot" resolved (the harness has no login read model). */
async function authenticate(t: ReturnType<typeof given>, secret: string) {
  const user = await t.deps.cache.get(t.instanceId, "user", "u1");
  const org = await t.deps.cache.get(t.instanceId, "org", ORG);
  const lookup = ((type: string) => (type === "login" ? "u1" : type === "user" ? user : org)) as Lookup;
  const r = clientBySecret(t.deps, { clientId: "bot", secret }, lookup);
  if (r === MISS) throw new Error("miss");
  return r;
}

describe("addSecret", () => {
  it("adds a named secret beside the others; each authenticates, as secret:<id>", async () => {
    const t = given(["s1", "s2"]);
    const a = await addSecret(t.deps, caller, { userId: "u1", description: "ci" });
    const b = await addSecret(t.deps, caller, { userId: "u1", expirationDate: inDays(30) });
    expect(classifySecret(a.clientSecret)).toBe("new");
    expect(t.written()).toEqual([
      expect.objectContaining({ type: "user.machine.secret.added", payload: { secretId: "s1", hashedSecret: keyedHash(t.deps.keys.hmac, a.clientSecret), description: "ci" } }),
      expect.objectContaining({ type: "user.machine.secret.added", payload: { secretId: "s2", hashedSecret: keyedHash(t.deps.keys.hmac, b.clientSecret), expirationDate: inDays(30).toISOString() } }),
    ]);
    expect((await authenticate(t, a.clientSecret)).cred).toBe("secret:s1");
    const viaB = await authenticate(t, b.clientSecret);
    expect([viaB.cred, viaB.credExpiresAt]).toEqual(["secret:s2", inDays(30).getTime()]);
  });

  it("refuses an 11th live secret and makes room by deleting expired ones", async () => {
    const t = given();
    for (let i = 0; i < 10; i++) t.given(userEvent("u1", ORG, "user.machine.secret.added", { secretId: `x${i}`, hashedSecret: "h" }));
    await expect(when(() => addSecret(t.deps, caller, { userId: "u1" }))).rejects.toMatchObject({ kind: "FailedPrecondition", id: "PORT-secrets-max" });
    expect(t.written()).toEqual([]);
    t.given(userEvent("u1", ORG, "user.machine.secret.changed", { secretId: "x3", expirationDate: "2025-01-01T00:00:00.000Z" }));
    await addSecret(t.deps, caller, { userId: "u1" });
    expect(t.written().map((e) => [e.type, e.payload?.secretId])).toEqual([
      ["user.machine.secret.deleted", "x3"],
      ["user.machine.secret.added", "id2"],
    ]);
  });

  it("refuses a past expiration, one beyond the policy, and an unknown machine; fills in the policy's limit", async () => {
    const t = given();
    await expect(addSecret(t.deps, caller, { userId: "u1", expirationDate: new Date(NOW.getTime() - 1000) })).rejects.toMatchObject({ id: "DOMAIN-dv3t5" });
    await expect(addSecret(t.deps, caller, { userId: "nobody" })).rejects.toMatchObject({ kind: "NotFound", id: "PORT-secret-user" });
    await setCredentialPolicy(t.deps, caller, { maxSecretLifetime: 90 * DAY, maxKeyLifetime: 0, maxPatLifetime: 0 });
    await expect(addSecret(t.deps, caller, { userId: "u1", expirationDate: inDays(91) })).rejects.toMatchObject({ kind: "InvalidArgument", id: "PORT-cred-policy" });
    expect((await addSecret(t.deps, caller, { userId: "u1" })).expirationDate).toEqual(inDays(90));
    expect((await generateMachineSecret(t.deps, caller, "u1")) && t.written().at(-1)?.payload?.expirationDate).toBe(inDays(90).toISOString());
  });
});

describe("rotateSecret", () => {
  it("adds the new secret and sets the old ones to expire after the grace period", async () => {
    const t = given(["old", "new"]);
    const old = await addSecret(t.deps, caller, { userId: "u1" });
    const r = await rotateSecret(t.deps, caller, { userId: "u1", gracePeriodSeconds: 3600 });
    expect(r.retired).toEqual(["old"]);
    expect(t.written().slice(1).map((e) => [e.type, e.payload])).toEqual([
      ["user.machine.secret.added", { secretId: "new", hashedSecret: keyedHash(t.deps.keys.hmac, r.clientSecret) }],
      ["user.machine.secret.changed", { secretId: "old", expirationDate: new Date(NOW.getTime() + 3600_000).toISOString() }],
    ]);
    expect((await authenticate(t, old.clientSecret)).credExpiresAt).toBe(NOW.getTime() + 3600_000);
    expect((await authenticate(t, r.clientSecret)).cred).toBe("secret:new");
  });

  it("refuses a machine without secrets, a grace period beyond the old secret's life, a negative one", async () => {
    const t = given();
    await expect(rotateSecret(t.deps, caller, { userId: "u1", gracePeriodSeconds: 60 })).rejects.toMatchObject({ kind: "FailedPrecondition", id: "PORT-secret-none" });
    t.given(userEvent("u1", ORG, "user.machine.secret.added", { secretId: "a", hashedSecret: "h", expirationDate: inDays(1).toISOString() }));
    await expect(rotateSecret(t.deps, caller, { userId: "u1", gracePeriodSeconds: 2 * DAY })).rejects.toMatchObject({ kind: "InvalidArgument", id: "PORT-secret-grace" });
    await expect(rotateSecret(t.deps, caller, { userId: "u1", gracePeriodSeconds: -1 })).rejects.toMatchObject({ id: "PORT-secret-grace" });
    await expect(rotateSecret(t.deps, caller, { userId: "u1", secretId: "zz", gracePeriodSeconds: 1 })).rejects.toMatchObject({ kind: "NotFound" });
    expect(t.written()).toEqual([]);
  });
});

describe("updateSecret / removeSecret / the v1 calls over a set", () => {
  it("updates description and expiration; nothing changed is an error", async () => {
    const t = given(["a"]);
    await addSecret(t.deps, caller, { userId: "u1" });
    await updateSecret(t.deps, caller, { userId: "u1", secretId: "a", description: "prod", expirationDate: inDays(5) });
    expect(t.written().at(-1)).toMatchObject({ type: "user.machine.secret.changed", payload: { secretId: "a", description: "prod", expirationDate: inDays(5).toISOString() } });
    await expect(updateSecret(t.deps, caller, { userId: "u1", secretId: "a", description: "prod" })).rejects.toMatchObject({ id: "PORT-secret-unchanged" });
  });

  it("an expired or removed secret is refused like a wrong one", async () => {
    const t = given(["a", "b"]);
    const a = await addSecret(t.deps, caller, { userId: "u1" });
    const b = await addSecret(t.deps, caller, { userId: "u1" });
    t.given(userEvent("u1", ORG, "user.machine.secret.changed", { secretId: "a", expirationDate: NOW.toISOString() }));
    await expect(authenticate(t, a.clientSecret)).rejects.toMatchObject({ error: "invalid_client" });
    await removeSecret(t.deps, caller, "u1", "b");
    await expect(authenticate(t, b.clientSecret)).rejects.toMatchObject({ error: "invalid_client" });
  });

  it("GenerateMachineSecret replaces the set with one; RemoveMachineSecret removes all", async () => {
    const t = given(["a", "b", "g"]);
    const a = await addSecret(t.deps, caller, { userId: "u1" });
    await addSecret(t.deps, caller, { userId: "u1" });
    const g = await generateMachineSecret(t.deps, caller, "u1");
    await expect(authenticate(t, a.clientSecret)).rejects.toMatchObject({ error: "invalid_client" });
    expect((await authenticate(t, g.clientSecret)).cred).toBe("secret:g");
    await addSecret(t.deps, caller, { userId: "u1" });
    await removeMachineSecret(t.deps, caller, "u1");
    expect(t.written().at(-1)).toMatchObject({ type: "user.machine.secret.removed" });
    expect((await t.deps.cache.get(t.instanceId, "user", "u1")).secrets.size).toBe(0);
    await expect(removeMachineSecret(t.deps, caller, "u1")).rejects.toMatchObject({ id: "COMMAND-coi82n" });
  });

  it("a value in the new format with a broken checksum is refused before any lookup", async () => {
    const t = given(["a"]);
    const a = await addSecret(t.deps, caller, { userId: "u1" });
    const broken = a.clientSecret.slice(0, -1) + (a.clientSecret.endsWith("A") ? "B" : "A");
    let lookups = 0;
    expect(() => clientBySecret(t.deps, { clientId: "bot", secret: broken }, () => (lookups++, null) as never)).toThrow(expect.objectContaining({ error: "invalid_client" }));
    expect(lookups).toBe(0);
  });
});
