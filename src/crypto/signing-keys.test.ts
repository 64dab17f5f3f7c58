import { describe, expect, it } from "vitest";
import {
  generateSigningKey,
  loadedKey,
  planForcedRotation,
  planRotation,
  rotationPolicy,
  signingKeyStatuses,
  signingKeyView,
  type RotationPolicy,
  type SigningKeyRecord,
} from "./signing-keys.js";

const H = 3_600_000;
const D = 24 * H;
const policy: RotationPolicy = rotationPolicy({
  accessTokenLifetime: 43200,
  signingKeys: { rotationInterval: 30 * 86400, publishAhead: 86400, retireMargin: 3600, reloadInterval: 60 },
});
const T0 = Date.UTC(2030, 0, 1);
const rec = (id: string, activateAtMs: number, createdAtMs = activateAtMs): SigningKeyRecord => ({
  id,
  publicJwk: { kid: id },
  createdAt: new Date(createdAtMs),
  activateAt: new Date(activateAtMs),
});
const states = (records: SigningKeyRecord[], now: number) => signingKeyStatuses(records, now, policy.retainMs).map((s) => [s.record.id, s.state]);

describe("rotationPolicy", () => {
  it("keeps a retired key for the longest token lifetime (access or id token) plus the margin", () => {
    expect(policy).toEqual({ rotationIntervalMs: 30 * D, publishAheadMs: D, reloadIntervalMs: 60_000, retainMs: 13 * H });
    const long = rotationPolicy({ accessTokenLifetime: 86400, signingKeys: { rotationInterval: 100, publishAhead: 10, retireMargin: 5, reloadInterval: 1 } });
    expect(long.retainMs).toBe((86400 + 5) * 1000);
  });
});

describe("signingKeyStatuses", () => {
  it("derives next, active, retired and removed from the starts and the clock", () => {
    const keys = [rec("c", T0 + 31 * D, T0 + 29 * D), rec("a", T0), rec("b", T0 + 30 * D, T0 + 28 * D)];
    expect(states(keys, T0)).toEqual([["a", "active"], ["b", "next"], ["c", "next"]]);
    expect(states(keys, T0 + 30 * D - 1)).toEqual([["a", "active"], ["b", "next"], ["c", "next"]]);
    expect(states(keys, T0 + 30 * D)).toEqual([["a", "retired"], ["b", "active"], ["c", "next"]]);
    expect(states(keys, T0 + 31 * D)).toEqual([["a", "removed"], ["b", "retired"], ["c", "active"]]);
    const [a] = signingKeyStatuses(keys, T0 + 30 * D, policy.retainMs);
    expect(a).toMatchObject({ stoppedAt: new Date(T0 + 30 * D), removeAt: new Date(T0 + 30 * D + 13 * H) });
    expect(states(keys, T0 + 30 * D + 13 * H - 1)[0]).toEqual(["a", "retired"]);
    expect(states(keys, T0 + 30 * D + 13 * H)[0]).toEqual(["a", "removed"]);
  });

  it("counts the earliest key as active while the clock is behind every start (there is always a signer)", () => {
    expect(states([rec("a", T0 + D), rec("b", T0 + 2 * D)], T0)).toEqual([["a", "active"], ["b", "next"]]);
  });

  it("breaks a tie of starts by creation, then id", () => {
    expect(states([rec("b", T0, T0 + 1), rec("a", T0, T0)], T0)).toEqual([["a", "retired"], ["b", "active"]]);
  });
});

describe("planRotation", () => {
  it("creates the first key signing at once", () => {
    expect(planRotation([], T0, policy)).toEqual({ create: { activateAt: new Date(T0) }, remove: [] });
  });

  it("publishes the next key publishAhead + reloadInterval before the active one is due, and not earlier", () => {
    const a = rec("a", T0);
    const lead = D + 60_000;
    expect(planRotation([a], T0 + 30 * D - lead - 1, policy)).toEqual({ remove: [] });
    expect(planRotation([a], T0 + 30 * D - lead, policy)).toEqual({ create: { activateAt: new Date(T0 + 30 * D) }, remove: [] });
    // Late (every process was down): it still gets the full lead before anyone signs with it.
    expect(planRotation([a], T0 + 90 * D, policy)).toEqual({ create: { activateAt: new Date(T0 + 90 * D + lead) }, remove: [] });
  });

  it("does nothing while a next key is published, and removes retired keys past their window", () => {
    const keys = [rec("a", T0), rec("b", T0 + 30 * D, T0 + 29 * D)];
    expect(planRotation(keys, T0 + 29 * D + H, policy)).toEqual({ remove: [] });
    expect(planRotation(keys, T0 + 30 * D + 13 * H - 1, policy)).toEqual({ remove: [] });
    expect(planRotation(keys, T0 + 30 * D + 13 * H, policy)).toEqual({ remove: ["a"] });
  });

  it("is idempotent: once its key is stored, the same plan asks for nothing more", () => {
    const a = rec("a", T0);
    const now = T0 + 29 * D;
    const plan = planRotation([a], now, policy);
    expect(plan.create).toBeDefined();
    expect(planRotation([a, rec("b", plan.create!.activateAt.getTime(), now)], now, policy)).toEqual({ remove: [] });
  });
});

describe("planForcedRotation", () => {
  it("promotes the published next key, else creates one signing now", () => {
    expect(planForcedRotation([rec("a", T0), rec("b", T0 + 30 * D, T0 + 29 * D)], T0 + 29 * D + H, policy.retainMs)).toEqual({ promote: "b" });
    expect(planForcedRotation([rec("a", T0)], T0 + D, policy.retainMs)).toEqual({ create: { activateAt: new Date(T0 + D) } });
  });
});

describe("signingKeyView", () => {
  it("signs with the active key, publishes next, active and retired keys, and knows when it changes", async () => {
    const gen = async (id: string, start: number, withPrivate = true) => {
      const g = await generateSigningKey(id);
      return loadedKey({ ...rec(id, start), publicJwk: g.publicJwk }, withPrivate ? g.privatePem : undefined);
    };
    const keys = [await gen("a", T0), await gen("b", T0 + 30 * D), await gen("c", T0 + 60 * D)];
    const v = signingKeyView(keys, T0 + 30 * D + H, policy.retainMs);
    expect(v.signer?.id).toBe("b");
    expect(v.degraded).toBe(false);
    expect(JSON.parse(v.jwks).keys.map((k: { kid: string }) => k.kid)).toEqual(["b", "c", "a"]);
    expect([...v.byKid.keys()].sort()).toEqual(["a", "b", "c"]);
    expect(v.validUntilMs).toBe(T0 + 30 * D + 13 * H); // a leaves the JWKS
    const later = signingKeyView(keys, v.validUntilMs, policy.retainMs);
    expect(JSON.parse(later.jwks).keys.map((k: { kid: string }) => k.kid)).toEqual(["b", "c"]);
    expect(later.byKid.has("a")).toBe(false);
    expect(later.validUntilMs).toBe(T0 + 60 * D); // c starts signing
    const jwk = JSON.parse(later.jwks).keys[0];
    expect(jwk).toMatchObject({ kty: "RSA", kid: "b", alg: "RS256", use: "sig" });
    expect(jwk.d).toBeUndefined();
  });

  it("falls back to the newest started key it can sign with when the active one cannot be unsealed", async () => {
    const a = await generateSigningKey("a");
    const b = await generateSigningKey("b");
    const keys = [loadedKey({ ...rec("a", T0), publicJwk: a.publicJwk }, a.privatePem), loadedKey({ ...rec("b", T0 + D), publicJwk: b.publicJwk }, undefined)];
    const v = signingKeyView(keys, T0 + D + 1, policy.retainMs);
    expect(v.signer?.id).toBe("a");
    expect(v.degraded).toBe(true);
    expect(v.byKid.get("b")?.publicKey.asymmetricKeyType).toBe("rsa"); // still verifies with the public JWK
  });
});
