import { createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { NOW, callerIn, createHarness, orgEvent, userEvent } from "../core/testing/given.js";
import { addMachineKey, removeMachineKey } from "./machine-keys.js";

const ORG = "org1";
const caller = callerIn(ORG);
const enc = (s: string) => new Uint8Array(Buffer.from(s));

// Caller-supplied public keys, fixed (generating RSA keys takes time): RSA-2048 and, too small, RSA-1024.
const SPKI_PEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAl/elXz31d1KYOGXQ73o+
v4ZTtzT6z/MxcPAxG0DHs7hsQxyE4aACFi5zFPHBVRi7MvxD6cB1scx66yIWDTXZ
f7k+fcbTcveaWpTFxnKGmMUtICXicjHTH7evG81Aub1QnDSCx19sMjsuuy84NPIm
zEkccm/5jPgG4s3T1TY0LM6GrGeKyAtXOSkY8llFQaxZC4IdWlpQLcM0xSfFVpOv
VE/OLsfN90TXiN8XCvfvM/ooLZ13k5m1IRzWpTuThe+ssWldqKLy7ioqrHGbbcJf
FnEAXTRW+3ZpbD+SpsoDnT56uVKudfOPH/1ja8W/7iYY4D8vHSf3OMe9T9QwKqvO
IwIDAQAB
-----END PUBLIC KEY-----
`;
const SMALL_PEM = `-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCZtn7yhb+wBFPVcpgFj/jQYIQA
ATjj/X131nJ1D2Z1HQg6s5CYUtRo+OapwmMXvfFWOmq09Rqjf3MF8VawLpGfXEIA
LUPzkgnBZ7798ceeo8n+FCC3QxE+o2LU1KD0Tao/ZS5oa0S6hITFFojvqWiHU1jI
XA/m1uGwLGl6spuEqwIDAQAB
-----END PUBLIC KEY-----
`;
const stored = (pem: string) => Buffer.from(pem).toString("base64");

function given() {
  const t = createHarness({ ids: ["k1"] });
  t.given(
    orgEvent(ORG, "org.added", { name: "Acme" }),
    userEvent("u1", ORG, "user.machine.added", { userName: "bot", name: "Bot" }),
    userEvent("h1", ORG, "user.human.added", { userName: "alice", displayName: "Alice" }),
    userEvent("other", "org2", "user.machine.added", { userName: "other", name: "O" }),
  );
  return t;
}

describe("addMachineKey", () => {
  it("stores a caller's public key as SPKI PEM (base64) with type 1 and the default expiry, and hands out no key file", async () => {
    const t = given();
    const r = await addMachineKey(t.deps, caller, { userId: "u1", type: 1, publicKey: enc(SPKI_PEM) });
    expect(r).toEqual({ keyId: "k1", keyDetails: new Uint8Array(), details: { sequence: 2, creationDate: NOW, resourceOwner: ORG } });
    expect(t.written()).toEqual([
      {
        aggregateType: "user",
        aggregateId: "u1",
        resourceOwner: ORG,
        sequence: 2,
        type: "user.machine.key.added",
        payload: { keyId: "k1", type: 1, expirationDate: "9999-12-31T23:59:59.000Z", publicKey: stored(SPKI_PEM) },
      },
    ]);
  });

  it("normalises a PKIX key under another PEM label to PUBLIC KEY", async () => {
    const t = given();
    const relabelled = SPKI_PEM.replace(/PUBLIC KEY/g, "RSA PUBLIC KEY");
    await addMachineKey(t.deps, caller, { userId: "u1", type: 1, publicKey: enc(relabelled), expirationDate: new Date("2030-01-01T00:00:00Z") });
    expect(t.written()[0]!.payload).toMatchObject({ expirationDate: "2030-01-01T00:00:00.000Z", publicKey: stored(SPKI_PEM) });
  });

  it("generates the pair when no key is given: the key file carries the private half, the event only the public one", async () => {
    const t = given();
    const r = await addMachineKey(t.deps, caller, { userId: "u1", type: 1, publicKey: new Uint8Array() });
    const file = JSON.parse(Buffer.from(r.keyDetails).toString("utf8")) as Record<string, string>;
    expect(Object.keys(file)).toEqual(["type", "keyId", "key", "expirationDate", "userId"]);
    expect(file).toMatchObject({ type: "serviceaccount", keyId: "k1", expirationDate: "9999-12-31T23:59:59Z", userId: "u1" });
    expect(file.key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    const publicPem = createPublicKey(file.key!).export({ type: "spki", format: "pem" }) as string;
    expect(t.written()[0]!.payload).toEqual({ keyId: "k1", type: 1, expirationDate: "9999-12-31T23:59:59.000Z", publicKey: stored(publicPem) });
    expect(JSON.stringify(t.written())).not.toContain("PRIVATE");
  });

  it("checks in ZITADEL's order: public key, type, expiration, then the user", async () => {
    const t = given();
    const past = new Date(NOW.getTime() - 1);
    const pkcs1 = createPublicKey(SPKI_PEM).export({ type: "pkcs1", format: "pem" }) as string;
    const badKey = { kind: "InvalidArgument", id: "COMMAND-5F3h1", message: "Public key is not a valid RSA public key in PKIX format with PEM encoding" };
    for (const pem of ["not a key", SMALL_PEM, pkcs1])
      await expect(addMachineKey(t.deps, caller, { userId: "nobody", type: 2, expirationDate: past, publicKey: enc(pem) })).rejects.toMatchObject(badKey);
    await expect(addMachineKey(t.deps, caller, { userId: "nobody", type: 2, expirationDate: past, publicKey: enc(SPKI_PEM) })).rejects.toMatchObject({
      kind: "InvalidArgument",
      id: "COMMAND-0i9fsfd",
      message: "Errors.Invalid.Argument",
    });
    await expect(addMachineKey(t.deps, caller, { userId: "nobody", type: 1, expirationDate: past, publicKey: enc(SPKI_PEM) })).rejects.toMatchObject({
      kind: "InvalidArgument",
      id: "DOMAIN-dv3t5",
      message: "Errors.AuthNKey.ExpireBeforeNow",
    });
    expect(t.pushes).toEqual([]);
  });

  it("refuses unknown users, other orgs' users and humans (COMMAND-bnipwm1)", async () => {
    const t = given();
    for (const userId of ["nobody", "other", "h1"])
      await expect(addMachineKey(t.deps, caller, { userId, type: 1, publicKey: enc(SPKI_PEM) })).rejects.toMatchObject({
        kind: "FailedPrecondition",
        id: "COMMAND-bnipwm1",
        message: "User could not be found",
      });
    expect(t.pushes).toEqual([]);
  });

  it("refuses a key id the user already has (COMMAND-091mops)", async () => {
    const t = given();
    t.given(userEvent("u1", ORG, "user.machine.key.added", { keyId: "k1", type: 1, expirationDate: "9999-12-31T23:59:59.000Z", publicKey: stored(SPKI_PEM) }));
    await expect(addMachineKey(t.deps, caller, { userId: "u1", type: 1, publicKey: enc(SPKI_PEM) })).rejects.toMatchObject({
      kind: "AlreadyExists",
      id: "COMMAND-091mops",
      message: "Errors.User.Machine.Key.AlreadyExists",
    });
    expect(t.pushes).toEqual([]);
  });
});

describe("removeMachineKey", () => {
  const keyAdded = (userId: string, orgId: string, keyId: string) =>
    userEvent(userId, orgId, "user.machine.key.added", { keyId, type: 1, expirationDate: "9999-12-31T23:59:59.000Z", publicKey: stored(SPKI_PEM) });

  it("writes user.machine.key.removed with the key id", async () => {
    const t = given();
    t.given(keyAdded("u1", ORG, "a"), keyAdded("u1", ORG, "b"));
    const d = await removeMachineKey(t.deps, caller, "u1", "b");
    expect(d).toEqual({ sequence: 4, changeDate: NOW, resourceOwner: ORG });
    expect(t.written()).toEqual([{ aggregateType: "user", aggregateId: "u1", resourceOwner: ORG, sequence: 4, type: "user.machine.key.removed", payload: { keyId: "b" } }]);
    expect([...(await t.deps.cache.get(t.instanceId, "user", "u1")).keys.keys()]).toEqual(["a"]);
  });

  it("does not find a removed key, another user's key or another org's user's key (COMMAND-4m77G)", async () => {
    const t = given();
    t.given(keyAdded("u1", ORG, "a"), userEvent("u1", ORG, "user.machine.key.removed", { keyId: "a" }), keyAdded("other", "org2", "c"));
    for (const [userId, keyId] of [
      ["u1", "a"],
      ["u1", "c"],
      ["other", "c"],
      ["nobody", "a"],
    ] as const)
      await expect(removeMachineKey(t.deps, caller, userId, keyId)).rejects.toMatchObject({ kind: "NotFound", id: "COMMAND-4m77G", message: "Machine key not found" });
    expect(t.pushes).toEqual([]);
  });
});
