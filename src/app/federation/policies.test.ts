import { describe, expect, it } from "vitest";
import { callerIn, createHarness, orgEvent, userEvent, when } from "../core/testing/given.js";
import { addBinding, addPolicy, removeBinding, updatePolicy, type PolicyInput } from "./policies.js";

const ORG = "org1";
const caller = callerIn(ORG);

const policy = (extra: Partial<PolicyInput> = {}): PolicyInput => ({
  name: "cluster",
  issuer: "https://k8s.example",
  jwksUri: "https://k8s.example/openid/v1/jwks",
  jwks: "",
  audiences: ["portcullis"],
  algorithms: ["RS256"],
  maxTokenAgeSeconds: 0,
  requiredClaims: {},
  requireJti: false,
  ...extra,
});

function given(ids: string[] = []) {
  const t = createHarness({ ids });
  t.given(
    orgEvent(ORG, "org.added", { name: "Acme" }),
    userEvent("u1", ORG, "user.machine.added", { userName: "bot", name: "Bot" }),
    userEvent("h1", ORG, "user.human.added", { userName: "human", displayName: "Hu" }),
  );
  return t;
}

describe("trust policies", () => {
  it("addPolicy writes federation.policy.added on its own aggregate, claiming the issuer in the org", async () => {
    const t = given(["p1"]);
    const r = await addPolicy(t.deps, caller, policy({ requiredClaims: { env: "prod" } }));
    expect(r.policyId).toBe("p1");
    expect(t.written()).toEqual([
      expect.objectContaining({
        aggregateType: "federation_policy",
        aggregateId: "p1",
        type: "federation.policy.added",
        payload: { name: "cluster", issuer: "https://k8s.example", jwksUri: "https://k8s.example/openid/v1/jwks", audiences: ["portcullis"], algorithms: ["RS256"], requiredClaims: { env: "prod" } },
      }),
    ]);
    await expect(when(() => addPolicy(t.deps, caller, policy()))).rejects.toMatchObject({ kind: "AlreadyExists", id: "FED-issuer-taken" });
  });

  it.each([
    ["HS256", { algorithms: ["HS256" as never] }, "FED-alg"],
    ["no audience", { audiences: [] }, "FED-aud"],
    ["a relative issuer", { issuer: "k8s" }, "FED-url"],
    ["an http issuer off loopback", { issuer: "http://k8s.example" }, "FED-issuer"],
    ["two key sources", { jwks: '{"keys":[]}' }, "FED-keys"],
    ["no key source", { jwksUri: "" }, "FED-keys"],
  ])("refuses %s", async (_n, extra, id) => {
    const t = given();
    await expect(when(() => addPolicy(t.deps, caller, policy(extra)))).rejects.toMatchObject({ kind: "InvalidArgument", id });
    expect(t.written()).toEqual([]);
  });

  it("updatePolicy with the same settings writes nothing; another org's policy is not found", async () => {
    const t = given(["p1"]);
    await addPolicy(t.deps, caller, policy());
    const before = t.written().length;
    await updatePolicy(t.deps, caller, "p1", policy());
    expect(t.written()).toHaveLength(before);
    await updatePolicy(t.deps, caller, "p1", policy({ audiences: ["a", "b"] }));
    expect(t.written().at(-1)).toMatchObject({ type: "federation.policy.changed", payload: { audiences: ["a", "b"] } });
    await expect(when(() => updatePolicy(t.deps, callerIn("org2"), "p1", policy()))).rejects.toMatchObject({ kind: "NotFound", id: "FED-policy-nf" });
  });
});

describe("bindings", () => {
  it("a machine of the org binds to a policy of the org by subject or condition; the user state holds it until removed", async () => {
    const t = given(["p1", "b1"]);
    await addPolicy(t.deps, caller, policy());
    await addBinding(t.deps, caller, { userId: "u1", policyId: "p1", subject: "system:serviceaccount:prod:api", condition: "", description: "" });
    expect(t.written().at(-1)).toMatchObject({
      aggregateType: "user",
      aggregateId: "u1",
      type: "user.machine.federation.binding.added",
      payload: { bindingId: "b1", policyId: "p1", subject: "system:serviceaccount:prod:api" },
    });
    expect([...(await t.deps.cache.get(t.instanceId, "user", "u1")).bindings.keys()]).toEqual(["b1"]);
    await removeBinding(t.deps, caller, "u1", "b1");
    expect(t.written().at(-1)).toMatchObject({ type: "user.machine.federation.binding.removed", payload: { bindingId: "b1", policyId: "p1" } });
    expect((await t.deps.cache.get(t.instanceId, "user", "u1")).bindings.size).toBe(0);
  });

  it.each([
    ["a human", { userId: "h1" }, "NotFound", "FED-user-nf"],
    ["an unknown policy", { policyId: "nope" }, "NotFound", "FED-policy-nf"],
    ["both subject and condition", { condition: "true" }, "InvalidArgument", "FED-binding"],
    ["neither", { subject: "" }, "InvalidArgument", "FED-binding"],
    ["a condition that does not compile", { subject: "", condition: "claims.ref ==" }, "InvalidArgument", "FED-condition"],
  ])("refuses %s", async (_n, extra, kind, id) => {
    const t = given(["p1"]);
    await addPolicy(t.deps, caller, policy());
    await expect(when(() => addBinding(t.deps, caller, { userId: "u1", policyId: "p1", subject: "s", condition: "", description: "", ...extra }))).rejects.toMatchObject({ kind, id });
  });
});
